using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Sampling;
using Spectre.Console;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace PhasedDmd.Cli.Commands;

public sealed class EvalSettings : ModelSamplingSettings
{
    [CommandOption("--denoising-curve <TIMES>")]
    [System.ComponentModel.Description("glyphs teachers: also noise real images to each start time (comma-separated, e.g. 0.5,0.7,0.9,1), denoise them with the teacher and report the character accuracy per start time.")]
    public string? DenoisingCurve { get; init; }

    [CommandOption("--encoder <DIR>")]
    [System.ComponentModel.Description("glyphs/motion: the feature encoder for the diversity, composition and Fréchet measures (default assets/encoders/<task> when it exists; train one with train-encoder).")]
    public string? Encoder { get; init; }
}

public sealed class EvalCommand : Command<EvalSettings>
{
    public override int Execute(CommandContext context, EvalSettings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions(5000);
        if (settings.Threads is > 0) set_num_threads(settings.Threads.Value);
        using var model = LoadedModel.Load(settings.Model, PhasedDmd.Training.Runtime.ResolveDevice(options.Device));
        var card = model.Card;
        var starts = settings.DenoisingCurve is { } spec ? ParseStartTimes(spec) : null;
        if (starts is not null && (card.Task.Name != "glyphs" || model.Network is null))
            throw new InputException("--denoising-curve: only for glyphs teachers (many-step models)");
        if (card.Task.Name == "glyphs")
        {
            var seeds = 8;
            var prompts = new PhasedDmd.Data.GlyphsTask().EvaluationPrompts;
            using var grid = ModelSampling.SamplePromptGrid(model, prompts, seeds, options);
            var g = GlyphMetrics.FromSamples(grid.data<float>().ToArray(), prompts, seeds);
            var features = Features(settings, card.Task.Name, grid, prompts, seeds, options.Seed);
            WriteWithFeatures(settings.Out, g, features);
            var t = new Table().Title($"glyphs: {g.Prompts} prompts × {g.SeedsPerPrompt} seeds").AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            t.AddRow("character accuracy", $"{g.CharacterAccuracy:F3}");
            t.AddRow("colour accuracy (fg and bg)", $"{g.ColourAccuracy:F3}");
            t.AddRow("all attributes", $"{g.AllAttributesAccuracy:F3}");
            t.AddRow("mean glyph match (IoU)", $"{g.MeanGlyphMatch:F3}");
            t.AddRow($"distinct layouts per prompt (of {seeds})", $"{g.DistinctLayoutsPerPrompt:F2}");
            AddFeatureRows(t, features);
            AnsiConsole.Write(t);
            if (starts is not null)
            {
                var curve = GlyphMetrics.DenoisingCurve(model, starts, samples: 256, seed: options.Seed);
                var c = new Table().Title("denoising real images from t₀ (256 images)").AddColumn("t₀").AddColumn("character accuracy").AddColumn("colour accuracy");
                foreach (var (t0, ch, col) in curve) c.AddRow($"{t0:0.##}", $"{ch:F3}", $"{col:F3}");
                AnsiConsole.Write(c);
                Json.Write(Path.ChangeExtension(settings.Out, null) + "-denoising.json",
                    curve.Select(p => new { startTime = p.StartTime, characterAccuracy = p.CharacterAccuracy, colourAccuracy = p.ColourAccuracy }).ToList());
            }
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(settings.Out)}");
            return 0;
        }
        if (card.Task.Name == "motion")
        {
            var seeds = 8;
            var prompts = new PhasedDmd.Data.MotionTask().EvaluationPrompts;
            using var grid = ModelSampling.SamplePromptGrid(model, prompts, seeds, options);
            var m = MotionMetrics.FromSamples(grid.data<float>().ToArray(), prompts, seeds);
            var features = Features(settings, card.Task.Name, grid, prompts, seeds, options.Seed);
            WriteWithFeatures(settings.Out, m, features);
            var t = new Table().Title($"motion: {m.Prompts} prompts × {m.SeedsPerPrompt} seeds").AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            t.AddRow("shape accuracy", $"{m.ShapeAccuracy:F3}");
            t.AddRow("direction accuracy", $"{m.DirectionAccuracy:F3}");
            t.AddRow("mean speed, px/frame (data: 0.75)", $"{m.MeanSpeed:F3}");
            t.AddRow("speed spread per prompt (data: 0.29)", $"{m.SpeedSpreadPerPrompt:F3}");
            t.AddRow("mean shape match (soft IoU)", $"{m.MeanShapeMatch:F3}");
            t.AddRow("mean optical flow, px/frame (data: 0.75)", $"{m.MeanAbsoluteFlow:F3}");
            t.AddRow($"dynamic degree (flow > {m.DynamicThreshold:F3})", $"{m.DynamicDegree:F3}");
            AddFeatureRows(t, features);
            AnsiConsole.Write(t);
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(settings.Out)}");
            return 0;
        }
        if (card.Task.Mixture is not { } mixture)
            throw new InputException($"eval: task '{card.Task.Name}' has no exact distribution to compare with");
        using (var samples = ModelSampling.Sample(model, options))
        {
            var metrics = MixtureMetrics.Evaluate(mixture, samples, options.Seed);
            Json.Write(settings.Out, metrics);
            Render(card.Task.Name, metrics);
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(settings.Out)}");
        }
        return 0;
    }

    public static void Render(string task, MixtureMetrics m)
    {
        var table = new Table().Title($"{task}: {m.Samples} samples").AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("mode_coverage", $"{m.ModeCoverage:F3}");
        table.AddRow("weight_tv", $"{m.WeightTv:F4}");
        table.AddRow("off_mode_fraction", $"{m.OffModeFraction:F4}");
        table.AddRow("mmd (RBF, h = " + $"{m.MmdBandwidth:F3})", $"{m.Mmd:E3}");
        table.AddRow("mean log-likelihood", $"{m.MeanLogLikelihood:F3}");
        AnsiConsole.Write(table);
    }

    /// <summary>The encoder measures when an encoder is given or shipped for the task; null otherwise.</summary>
    private static EncoderMetrics? Features(EvalSettings settings, string task, Tensor grid, IReadOnlyList<string> prompts, int seeds, int seed)
    {
        var dir = settings.Encoder ?? Assets.Encoder(task);
        if (dir is null) return null;
        using var encoder = EncoderTraining.LoadFor(dir, task, "--encoder");
        return EncoderMetrics.Evaluate(encoder, grid, prompts, seeds, seed);
    }

    /// <summary>Writes the task metrics with the encoder measures under the key <c>features</c>.</summary>
    private static void WriteWithFeatures<T>(string path, T metrics, EncoderMetrics? features)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(Json.Serialize(metrics))!.AsObject();
        if (features is not null) node["features"] = System.Text.Json.Nodes.JsonNode.Parse(Json.Serialize(features));
        AtomicFile.WriteAllText(path, node.ToJsonString(Json.Options));
    }

    private static void AddFeatureRows(Table t, EncoderMetrics? f)
    {
        if (f is null)
        {
            t.AddRow("[grey]feature measures[/]", "[grey]no encoder (see train-encoder)[/]");
            return;
        }
        t.AddRow($"feature cosine among seeds, ↓ (data: {f.RealFeatureCosine:F3})", $"{f.FeatureCosine:F3}");
        t.AddRow($"perceptual distance among seeds, ↑ (data: {f.RealPerceptual:F3})", $"{f.Perceptual:F3}");
        t.AddRow("composition spread / data's", $"{f.Composition.SpreadRatio:F3}");
        t.AddRow("composition W1 to data", $"{f.Composition.Wasserstein:F3}");
        t.AddRow($"Fréchet distance to data (features; data vs data: {f.FrechetRealFloor:F1})", $"{f.FrechetToReal:F1}");
    }

    private static List<double> ParseStartTimes(string spec)
    {
        var starts = spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)
                ? d : throw new InputException($"--denoising-curve: '{v}' is not a number")).ToList();
        if (starts.Count == 0 || starts.Any(t0 => !(t0 > 0 && t0 <= 1)))
            throw new InputException($"--denoising-curve: start times must be in (0, 1] (got '{spec}')");
        return starts;
    }
}
