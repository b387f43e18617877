using PhasedDmd.Cli.Support;
using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using System.Text.Json.Nodes;
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

    [CommandOption("--mixture <FILE>")]
    [System.ComponentModel.Description("Score the samples against this Gaussian mixture (JSON as for train-teacher) instead of the task's own; e.g. for a teacher imported from TorchScript, whose task has none.")]
    public string? Mixture { get; init; }

    [CommandOption("--encoder <DIR>")]
    [System.ComponentModel.Description("glyphs/motion/fashion-mnist: the feature encoder for the diversity, composition and Fréchet measures (default assets/encoders/<task> when it exists; train one with train-encoder).")]
    public string? Encoder { get; init; }

    [CommandOption("--seeds <N>")]
    [System.ComponentModel.Description("glyphs/motion/motion-free: seeds per prompt of the evaluation grid (default 8; 32 for motion-free); fashion-mnist: samples per class (default 100). Seed row r uses noise seed --seed + r.")]
    public int? Seeds { get; init; }

    [CommandOption("--paired-with <DIR>")]
    [System.ComponentModel.Description("fashion-mnist: also sample this model on the same noises and report, under paired, how alike the two grids are cell by cell (feature cosine and perceptual distance, beside their level between different noises); e.g. a student against one whose high-SNR expert trained longer.")]
    public string? PairedWith { get; init; }

    public override Spectre.Console.ValidationResult Validate()
    {
        if (Seeds is < 2) return Spectre.Console.ValidationResult.Error($"--seeds: must be ≥ 2 (diversity needs pairs; got {Seeds})");
        return base.Validate();
    }
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
        if (settings.PairedWith is not null && PhasedDmd.Data.TaskRegistry.TryFind(card.Task.Name) is not IClassImageTask)
            throw new InputException($"--paired-with: only for class-image models such as fashion-mnist (this is a {card.Task.Name} model)");
        if (PhasedDmd.Data.TaskRegistry.TryFind(card.Task.Name) is IClassImageTask images)
        {
            if (settings.Mixture is not null) throw new InputException($"--mixture: {images.Name} models are scored against the real test images, not a mixture");
            if (starts is not null) throw new InputException("--denoising-curve: only for glyphs teachers");
            using var evaluation = ClassImageEvaluation.Standard(images, settings.Seeds, settings.Encoder, "--encoder");
            using var grid = ConsoleProgress.Run($"sampling {evaluation.PerClass} × {images.ClassNames.Count} classes", p => evaluation.Sample(model, options, (done, total) => p(new PhasedDmd.Training.JobProgress(done, total, "samples"))));
            var report = evaluation.Report(grid, options.Seed);
            if (settings.PairedWith is { } otherDir)
            {
                using var other = LoadedModel.Load(otherDir, PhasedDmd.Training.Runtime.ResolveDevice(options.Device));
                if (other.Card.Task.Name != card.Task.Name) throw new InputException($"--paired-with: {otherDir} is a {other.Card.Task.Name} model, not {card.Task.Name}");
                using var otherGrid = ConsoleProgress.Run($"sampling {otherDir} on the same noises", p => evaluation.Sample(other, options, (done, total) => p(new PhasedDmd.Training.JobProgress(done, total, "samples"))));
                report["paired"] = evaluation.Paired(grid, otherGrid);
            }
            AtomicFile.WriteAllText(settings.Out, report.ToJsonString(Json.MetricsOptions));
            RenderClassImages(images, evaluation.PerClass, PromptGridEvaluation.Flatten(report));
            if (report["paired"] is JsonObject paired)
                AnsiConsole.MarkupLine($"paired with {Markup.Escape(settings.PairedWith!)} (same noises / other noises): feature cosine {(double)paired["feature_cosine"]!:F3} / {(double)paired["feature_cosine_other_noise"]!:F3}, perceptual distance {(double)paired["perceptual"]!:F3} / {(double)paired["perceptual_other_noise"]!:F3}");
            var png = Path.ChangeExtension(settings.Out, ".png");
            var shown = Math.Min(evaluation.PerClass, 8);
            using (var top = grid[..(shown * images.ClassNames.Count)])
                PhasedDmd.Plotting.ImageGrid.Save(png, top, shown, images.ClassNames.Count, images.ClassNames, zoom: 3);
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(settings.Out)} and {Markup.Escape(png)} (the first {shown} seeds)");
            return 0;
        }
        if (PhasedDmd.Data.TaskRegistry.TryFind(card.Task.Name) is PhasedDmd.Evaluation.IPromptGridTask task)
        {
            if (settings.Mixture is not null) throw new InputException($"--mixture: {task.Name} models are scored on their prompt grid, not against a mixture");
            using var evaluation = PromptGridEvaluation.Standard(task, settings.Seeds, settings.Encoder, "--encoder");
            using var grid = evaluation.Sample(model, options);
            var measures = evaluation.Measure(grid, options.Seed);
            AtomicFile.WriteAllText(settings.Out, measures.ToJsonString(Json.MetricsOptions));
            var flat = PromptGridEvaluation.Flatten(measures);   // NaN (written as a string) is left out, so it reads back as NaN
            double V(string key) => flat.GetValueOrDefault(key, double.NaN);
            var t = new Table().Title($"{card.Task.Name}: {evaluation.Prompts.Count} prompts × {evaluation.Seeds} seeds").AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            foreach (var (label, key) in task.EvalRows)
                t.AddRow(Markup.Escape(label.Replace("{threshold}", $"{V("dynamic_threshold"):F3}")), $"{V(key):F3}");
            AddFeatureRows(t, measures["features"] is null ? null : V);
            AnsiConsole.Write(t);
            if (starts is not null)
            {
                var curve = GlyphMetrics.DenoisingCurve(model, starts, samples: 256, seed: options.Seed);
                var c = new Table().Title("denoising real images from t₀ (256 images)").AddColumn("t₀").AddColumn("character accuracy").AddColumn("colour accuracy");
                foreach (var (t0, ch, col) in curve) c.AddRow($"{t0:0.##}", $"{ch:F3}", $"{col:F3}");
                AnsiConsole.Write(c);
                Json.WriteMetrics(Path.ChangeExtension(settings.Out, null) + "-denoising.json",
                    curve.Select(p => new { StartTime = p.StartTime, CharacterAccuracy = p.CharacterAccuracy, ColourAccuracy = p.ColourAccuracy }).ToList());
            }
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(settings.Out)}");
            return 0;
        }
        var mixture = settings.Mixture is { } file ? PhasedDmd.Data.GaussianMixture.Load(file) : card.Task.Mixture
            ?? throw new InputException($"eval: task '{card.Task.Name}' has no exact distribution to compare with (give one with --mixture FILE)");
        if (mixture.Dim != card.Network.SampleShape.Aggregate(1L, (a, b) => a * b))
            throw new InputException($"--mixture: the mixture has dimension {mixture.Dim} but the model's samples have shape [{string.Join(", ", card.Network.SampleShape)}]");
        using (var samples = ModelSampling.Sample(model, options))
        {
            var metrics = MixtureMetrics.Evaluate(mixture, samples, options.Seed);
            Json.WriteMetrics(settings.Out, metrics);
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

    /// <summary>The measures of a class grid beside the data's own level (real training images against the same test images).</summary>
    public static void RenderClassImages(IClassImageTask task, int perClass, IReadOnlyDictionary<string, double> flat)
    {
        double V(string key) => flat.GetValueOrDefault(key, double.NaN);
        var t = new Table().Title($"{task.Name}: {perClass} samples × {task.ClassNames.Count} classes, against as many test images")
            .AddColumn("measure").AddColumn(new TableColumn("model").RightAligned()).AddColumn(new TableColumn("real train images").RightAligned());
        foreach (var (label, key, format) in ClassImageRows)
            t.AddRow(label, V(key).ToString(format, System.Globalization.CultureInfo.InvariantCulture), V($"data.{key}").ToString(format, System.Globalization.CultureInfo.InvariantCulture));
        AnsiConsole.Write(t);
    }

    /// <summary>The rows of a class-grid evaluation: label, JSON key, number format.</summary>
    public static readonly IReadOnlyList<(string Label, string Key, string Format)> ClassImageRows =
    [
        ("Fréchet distance (classifier features), ↓", "frechet_distance", "F2"), ("class accuracy, ↑", "class_accuracy", "F3"),
        ("precision (k-NN manifold), ↑", "precision", "F3"), ("recall (k-NN manifold), ↑", "recall", "F3"),
        ("intra-class cosine, ↓ more diverse", "intra_class_cosine", "F3"), ("intra-class perceptual distance, ↑ more diverse", "intra_class_perceptual", "F3"),
    ];

    /// <summary>The encoder's rows; <paramref name="v"/> reads a flattened measure, null when there is no encoder.</summary>
    private static void AddFeatureRows(Table t, Func<string, double>? v)
    {
        if (v is null)
        {
            t.AddRow("[grey]feature measures[/]", "[grey]no encoder (see train-encoder)[/]");
            return;
        }
        double F(string key) => v($"features.{key}");
        t.AddRow($"feature cosine among seeds, ↓ (data: {F("real_feature_cosine"):F3})", $"{F("feature_cosine"):F3}");
        t.AddRow($"perceptual distance among seeds, ↑ (data: {F("real_perceptual"):F3})", $"{F("perceptual"):F3}");
        t.AddRow("composition spread / data's", $"{F("composition.spread_ratio"):F3}");
        t.AddRow("composition W1 to data", $"{F("composition.wasserstein"):F3}");
        t.AddRow($"Fréchet distance to data (features; data vs data: {F("frechet_real_floor"):F1})", $"{F("frechet_to_real"):F1}");
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
