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
        return ValidationResult.Success();
    }

    public SampleOptions ToOptions(int defaultN)
        => new(N ?? defaultN, Steps, Solver, Cfg, Seed ?? 0, Device ?? "cpu");
}

public sealed class SampleCommand : Command<ModelSamplingSettings>
{
    public override int Execute(CommandContext context, ModelSamplingSettings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions(2000);
        if (settings.Threads is > 0) set_num_threads(settings.Threads.Value);
        using var model = LoadedModel.Load(settings.Model, PhasedDmd.Training.Runtime.ResolveDevice(options.Device));
        var card = model.Card;
        using (var samples = ModelSampling.Sample(model, options))
        {
            var points = TensorExport.ToMatrix(samples);
            WriteCsv(settings.Out, points);
            var png = Path.ChangeExtension(settings.Out, ".png");
            if (card.Task.Mixture is { } mixture)
                Plots.MixtureSamples(png, mixture, points, $"{card.Task.Name}: {card.Role} samples (n = {points.GetLength(0)})");
            AnsiConsole.MarkupLine($"wrote {points.GetLength(0)} samples to {Markup.Escape(settings.Out)} and {Markup.Escape(png)}");
        }
        return 0;
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
