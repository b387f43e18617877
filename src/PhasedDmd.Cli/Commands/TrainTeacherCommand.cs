using System.ComponentModel;
using PhasedDmd.IO;
using PhasedDmd.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class TrainTeacherSettings : ResumableRunSettings
{
    [CommandOption("--task <TASK>")]
    [Description("gmm1d, ring8, grid9, mixture (with --mixture): an MLP on 2D/1D points; glyphs, motion: a DiT on procedural images / videos. Default: ring8.")]
    public string? Task { get; init; }

    [CommandOption("--mixture <FILE>")]
    [Description("Mixture JSON with means, stds and weights, for --task mixture (see README).")]
    public string? Mixture { get; init; }

    [CommandOption("--config <FILE>")]
    [Description("A run config JSON (e.g. a previous run's run_config.json); explicit options override it.")]
    public string? Config { get; init; }

    [CommandOption("--iterations <N>")]
    [Description("Training iterations (default 8000).")]
    public int? Iterations { get; init; }

    [CommandOption("--batch-size <N>")]
    [Description("Batch size (default 512).")]
    public int? BatchSize { get; init; }

    [CommandOption("--lr <LR>")]
    [Description("Peak AdamW learning rate (default 2e-3).")]
    public double? LearningRate { get; init; }

    [CommandOption("--hidden <N>")]
    [Description("MLP width (default 128).")]
    public int? Hidden { get; init; }

    [CommandOption("--layers <N>")]
    [Description("MLP linear layers (default 4).")]
    public int? Layers { get; init; }

    [CommandOption("--width <N>")]
    [Description("DiT width for glyphs/motion (default 96).")]
    public int? Width { get; init; }

    [CommandOption("--depth <N>")]
    [Description("DiT blocks for glyphs/motion (default 4).")]
    public int? Depth { get; init; }

    [CommandOption("--prompt-tokens")]
    [Description("DiT: the prompt's words also join the attention sequence (in-context conditioning; off by default).")]
    public bool? PromptTokens { get; init; }

    [CommandOption("--data-std <SD>")]
    [Description("DiT: EDM-style preconditioning for data of this standard deviation, flow schedule only (0 = off, the default).")]
    public double? DataStd { get; init; }

    [CommandOption("--ema <DECAY>")]
    [Description("EMA decay of the saved weights, 0 = off (default 0.999).")]
    public double? Ema { get; init; }

    [CommandOption("--class-conditional")]
    [Description("Condition on the mixture component (enables classifier-free guidance).")]
    public bool? ClassConditional { get; init; }


    /// <summary>Defaults (or the resumed run's saved config), then the --config file, then explicit options.</summary>
    public TeacherConfig ToConfig()
    {
        var c = Config is not null ? Json.Read<TeacherConfig>(Config, "config")
              : Resume is not null ? Json.Read<TeacherConfig>(Path.Combine(Resume, ModelDirectory.RunConfigFile), "saved config of the run to resume")
              : TeacherConfig.ForTask(Task ?? "ring8");
        return c with
        {
            Task = Task ?? c.Task,
            MixtureFile = Mixture ?? c.MixtureFile,
            Iterations = Iterations ?? c.Iterations,
            BatchSize = BatchSize ?? c.BatchSize,
            LearningRate = LearningRate ?? c.LearningRate,
            Hidden = Hidden ?? c.Hidden,
            Layers = Layers ?? c.Layers,
            Width = Width ?? c.Width,
            Depth = Depth ?? c.Depth,
            PromptTokens = PromptTokens ?? c.PromptTokens,
            DataStd = DataStd ?? c.DataStd,
            EmaDecay = Ema ?? c.EmaDecay,
            ClassConditional = ClassConditional ?? c.ClassConditional,
            Seed = Seed ?? c.Seed,
            Device = Device ?? c.Device,
            Threads = Threads ?? c.Threads,
            CheckpointEvery = CheckpointEvery ?? c.CheckpointEvery,
        };
    }
}

public sealed class TrainTeacherCommand : Command<TrainTeacherSettings>
{
    public override int Execute(CommandContext context, TrainTeacherSettings settings, CancellationToken cancellationToken)
    {
        var config = settings.ToConfig();
        config.Validate();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var interrupt = Interrupts.OnCtrlC();
        ConsoleProgress.Run($"train-teacher {config.Task}", p => TeacherTrainer.Train(config, settings.OutDir, p, settings.Resume is not null,
            interrupt.Token, w => Console.Error.WriteLine($"warning: {w}")));
        AnsiConsole.MarkupLine($"[green]teacher saved[/] to {Markup.Escape(settings.OutDir)} in {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
