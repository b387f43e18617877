using System.ComponentModel;
using System.Globalization;
using System.Text;
using PhasedDmd.IO;
using PhasedDmd.Plotting;
using PhasedDmd.Sampling;
using Spectre.Console;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace PhasedDmd.Cli.Commands;

/// <summary>Options shared by commands that sample a model directory.</summary>
public class ModelSamplingSettings : RunSettings
{
    [CommandOption("--model <DIR>")]
    [Description("Model directory (written by train-teacher or distill).")]
    public string Model { get; init; } = "";

    [CommandOption("-n|--samples <N>")]
    [Description("Number of samples (also accepted as --n N).")]
    public int? N { get; init; }

    [CommandOption("--steps <N>")]
    [Description("ODE steps (default: the model's own).")]
    public int? Steps { get; init; }

    [CommandOption("--solver <SOLVER>")]
    [Description("euler or heun (default: the model's own).")]
    public string? Solver { get; init; }

    [CommandOption("--cfg <W>")]
    [Description("Classifier-free guidance scale (conditional models; default: the model's own).")]
    public double? Cfg { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("Output file (required).")]
    public string Out { get; init; } = "";

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Model)) return ValidationResult.Error("--model DIR is required");
        if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out FILE is required");
        if (N is < 1) return ValidationResult.Error($"--n: must be ≥ 1 (got {N})");
        return ValidationResult.Success();
    }

    public SampleOptions ToOptions(int defaultN)
        => new(N ?? defaultN, Steps, Solver, Cfg, Seed ?? 0, Device ?? "cpu");
}

public sealed class SampleSettings : ModelSamplingSettings
{
    [CommandOption("--noise <FILE>")]
    [Description("Start from this noise instead of drawing it: a CSV with one flattened sample per row (the format --out writes; a header row is allowed). --n is then the number of rows.")]
    public string? Noise { get; init; }

    [CommandOption("--prompt|--prompts <TEXT>")]
    [Description("Prompt of a text-conditioned model (glyphs, motion; also --prompts); repeat for several columns (default: the first --columns evaluation prompts). For a teacher imported with a conditions file: rows by name or index, repeated or comma-separated; --n samples each, on the same noise (default: rows drawn at random).")]
    public string[]? Prompts { get; init; }

    [CommandOption("--seeds <N>")]
    [Description("Rows of the image grid: one seed per row, the same noise for every prompt (default 4; 8 for an imported image model, whose --n it is).")]
    public int? Seeds { get; init; }

    [CommandOption("--columns <N>")]
    [Description("Number of evaluation prompts when no --prompt is given (default 6).")]
    public int? Columns { get; init; }
}

public sealed class SampleCommand : Command<SampleSettings>
{
    public override int Execute(CommandContext context, SampleSettings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions(2000);
        if (settings.Threads is > 0) set_num_threads(settings.Threads.Value);
        using var model = LoadedModel.Load(settings.Model, PhasedDmd.Training.Runtime.ResolveDevice(options.Device));
        var card = model.Card;
        if (PhasedDmd.Data.TaskRegistry.TryFind(card.Task.Name) is PhasedDmd.Evaluation.IPromptGridTask task)
        {
            if (settings.Noise is not null) throw new InputException($"--noise: {task.Name} models sample a prompt grid from seeds; --noise is for point models");
            WriteGrid(model, task.Data, settings, options);
            return 0;
        }
        using var noise = settings.Noise is { } file ? NoiseCsv.Read(file, card.Network.SampleShape) : null;
        var rows = ConditionRows(model, settings.Prompts);
        if (IsImage(card.Network.SampleShape))
        {
            WriteImages(model, settings, options, noise, rows);
            return 0;
        }
        using (var samples = rows is not null ? ModelSampling.SamplePrompts(model, rows, noise, options)
                             : noise is null ? ModelSampling.Sample(model, options) : ModelSampling.SampleFrom(model, noise, options))
        {
            var points = TensorExport.ToMatrix(samples);
            WriteCsv(settings.Out, points);
            var png = Path.ChangeExtension(settings.Out, ".png");
            var title = $"{card.Task.Name}: {card.Role} samples (n = {points.GetLength(0)})";
            if (card.Task.Mixture is { } mixture) Plots.MixtureSamples(png, mixture, points, title);
            else if (points.GetLength(1) >= 2) Plots.Points(png, points, title, rows is null ? null : PromptNames(model, rows));
            else png = null;
            AnsiConsole.MarkupLine($"wrote {points.GetLength(0)} samples to {Markup.Escape(settings.Out)}" + (png is null ? "" : $" and {Markup.Escape(png)}"));
        }
        return 0;
    }

    /// <summary>Whether samples of this shape are images: [C, H, W] with 1 (grey) or 3 (RGB) channels.</summary>
    private static bool IsImage(long[] shape) => shape is [1 or 3, > 1, > 1];

    /// <summary>
    /// An image model (imported from PyTorch, e.g. fashion-mnist): the flattened samples as CSV (for a model with a conditions file,
    /// --n samples of each class in turn, as for point models) and a PNG grid, rows = seeds and, with a conditions file, columns =
    /// its classes by name (every class unless --prompt chooses), each row on one noise. --n (default --seeds, or 8) is the number of seeds.
    /// </summary>
    private static void WriteImages(LoadedModel model, SampleSettings settings, SampleOptions options, Tensor? noise, int[]? rows)
    {
        var seeds = noise is not null ? (int)noise.shape[0] : settings.N ?? settings.Seeds ?? 8;
        if (seeds < 1) throw new InputException($"--seeds: must be ≥ 1 (got {seeds})");
        options = options with { N = seeds };
        if (rows is null && IConditionSource.For(model.Card, model.IsConditional) is FileConditions source)
            using (source) rows = [.. Enumerable.Range(0, source.File.Count)];
        var png = settings.Out.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? settings.Out : Path.ChangeExtension(settings.Out, ".png");
        var csv = png == settings.Out ? Path.ChangeExtension(settings.Out, ".csv") : settings.Out;
        using var scope = NewDisposeScope();
        Tensor samples, grid;
        int columns;
        string[]? titles = null;
        if (rows is not null)
        {
            samples = ModelSampling.SamplePrompts(model, rows, noise, options);   // class blocks, as for point models
            grid = samples.view([rows.Length, seeds, .. model.Card.Network.SampleShape]).transpose(0, 1).reshape(samples.shape);
            columns = rows.Length;
            titles = PromptNames(model, rows);
        }
        else
        {
            samples = grid = noise is null ? ModelSampling.Sample(model, options) : ModelSampling.SampleFrom(model, noise, options);
            columns = Math.Min(8, seeds);
        }
        WriteCsv(csv, TensorExport.ToMatrix(samples));
        var shownRows = Math.Min(32, (int)(grid.shape[0] / columns));
        ImageGrid.Save(png, grid[..(shownRows * columns)], shownRows, columns, titles, zoom: 3);
        AnsiConsole.MarkupLine($"wrote {grid.shape[0]} images to {Markup.Escape(csv)} (flattened) and a {shownRows}×{columns} grid to {Markup.Escape(png)}");
    }

    /// <summary>The rows of a conditions file the --prompt values name (by name or index; comma-separated lists allowed), or null without --prompt.</summary>
    private static int[]? ConditionRows(LoadedModel model, string[]? prompts)
    {
        if (prompts is not { Length: > 0 }) return null;
        if (IConditionSource.For(model.Card, model.IsConditional) is not FileConditions source)
            throw new InputException("--prompt: this model has no conditions file to choose rows from (it is unconditional, or a class-conditional mixture model)");
        using (source.File)
            return [.. prompts.SelectMany(p => p.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Select(source.File.Resolve)];
    }

    private static string[] PromptNames(LoadedModel model, int[] rows)
    {
        using var file = ((FileConditions)IConditionSource.For(model.Card, model.IsConditional)!).File;
        return [.. rows.Select(r => file.Names[r])];
    }

    /// <summary>Rows = seeds, columns = prompts (paper Fig. 3); videos as frame strips plus an animated PNG.</summary>
    private static void WriteGrid(LoadedModel model, PhasedDmd.Data.IProceduralTask task, SampleSettings settings, SampleOptions options)
    {
        var columns = settings.Columns ?? 6;
        if (columns < 1) throw new InputException($"--columns: must be ≥ 1 (got {columns})");
        var prompts = settings.Prompts is { Length: > 0 } given ? given : task.EvaluationPrompts.Take(columns).ToArray();
        foreach (var p in prompts) task.Vocabulary.Encode(p);   // unknown words are input errors before any work
        var seeds = settings.Seeds ?? 4;
        if (seeds < 1) throw new InputException($"--seeds: must be ≥ 1 (got {seeds})");
        if (!settings.Out.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            throw new InputException($"--out: a {task.Name} model writes an image grid; give a .png file (got {settings.Out})");
        using var samples = ModelSampling.SamplePromptGrid(model, prompts, seeds, options);
        var apng = ImageGrid.SaveWithAnimation(settings.Out, samples, seeds, prompts.Length, prompts, stripZoom: 3, frameZoom: 6);
        var written = apng is null ? settings.Out : $"{settings.Out} and {apng}";
        AnsiConsole.MarkupLine($"wrote a {seeds}×{prompts.Length} grid ({model.Card.Role}) to {Markup.Escape(written)}");
    }

    public static void WriteCsv(string path, float[,] points)
    {
        var sb = new StringBuilder();
        var d = points.GetLength(1);
        sb.AppendLine(string.Join(',', Enumerable.Range(0, d).Select(i => i < 3 ? "xyz"[i].ToString() : $"x{i}")));
        for (var i = 0; i < points.GetLength(0); i++)
            sb.AppendLine(string.Join(',', Enumerable.Range(0, d).Select(j => points[i, j].ToString("R", CultureInfo.InvariantCulture))));
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
