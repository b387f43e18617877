using PhasedDmd.Cli.Support;
using System.ComponentModel;
using PhasedDmd.Evaluation;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class TrainEncoderSettings : CommandSettings
{
    [CommandOption("--task <TASK>")]
    [Description("glyphs, motion or fashion-mnist.")]
    public string Task { get; init; } = "";

    [CommandOption("--iterations <N>")]
    [Description("Training iterations (default 1500).")]
    public int? Iterations { get; init; }

    [CommandOption("--batch-size <N>")]
    [Description("Samples per iteration (default 128).")]
    public int? BatchSize { get; init; }

    [CommandOption("--seed <N>")]
    public int? Seed { get; init; }

    [CommandOption("--threads <N>")]
    public int? Threads { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("Output directory (required): encoder.safetensors (+ .sha256) and encoder.json.")]
    public string Out { get; init; } = "";

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out DIR is required")
         : string.IsNullOrWhiteSpace(Task) ? ValidationResult.Error("--task glyphs|motion|fashion-mnist is required")
         : ValidationResult.Success();
}

/// <summary>Trains the feature encoder of the diversity and fidelity metrics on a procedural task's true attributes.</summary>
public sealed class TrainEncoderCommand : Command<TrainEncoderSettings>
{
    public override int Execute(CommandContext context, TrainEncoderSettings settings, CancellationToken cancellationToken)
    {
        var defaults = new EncoderTrainingConfig(settings.Task);
        var config = defaults with
        {
            Iterations = settings.Iterations ?? defaults.Iterations,
            BatchSize = settings.BatchSize ?? defaults.BatchSize,
            Seed = settings.Seed ?? defaults.Seed,
            Threads = settings.Threads ?? defaults.Threads,
        };
        EncoderSpec.ForTask(config.Task);   // an unknown task is an input error before anything is written
        var card = ConsoleProgress.Run($"train-encoder {config.Task}", p => EncoderTraining.Train(config, settings.Out, p, cancellationToken));
        var table = new Table().Title($"held-out real samples (a test split where the task has one), {card.Seconds:F0} s").AddColumn("attribute").AddColumn(new TableColumn("accuracy / RMSE").RightAligned());
        foreach (var (name, acc) in card.HeldOutAccuracy) table.AddRow(name, $"{acc:F3}");
        foreach (var (name, rmse) in card.HeldOutRmse) table.AddRow($"{name} (normalised RMSE)", $"{rmse:F3}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(settings.Out)}");
        return 0;
    }
}
