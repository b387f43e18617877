using PhasedDmd.Cli.Support;
using System.ComponentModel;
using PhasedDmd.IO;
using PhasedDmd.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class TrainTeacherSettings : ResumableRunSettings
{
    [CommandOption("--task <TASK>"), ConfigKey("task")]
    [Description("gmm1d, ring8, grid9, mixture (with --mixture): an MLP on 2D/1D points; glyphs, motion, motion-free: a DiT on procedural images / videos; or a task of your own registered in TaskRegistry. Default: ring8.")]
    public string? Task { get; init; }

    [CommandOption("--mixture <FILE>"), ConfigKey("mixtureFile")]
    [Description("Mixture JSON with means, stds and weights, for --task mixture (see README).")]
    public string? Mixture { get; init; }

    [CommandOption("--config <FILE>")]
    [Description("A run config JSON (e.g. a previous run's run_config.json); explicit options override it.")]
    public string? Config { get; init; }

    [CommandOption("--iterations <N>"), ConfigKey("iterations")]
    [Description("Training iterations (default: depends on the task, see --print-config).")]
    public int? Iterations { get; init; }

    [CommandOption("--batch-size <N>"), ConfigKey("batchSize")]
    [Description("Batch size (default: depends on the task, see --print-config).")]
    public int? BatchSize { get; init; }

    [CommandOption("--lr <LR>"), ConfigKey("learningRate")]
    [Description("Peak AdamW learning rate (default: depends on the task, see --print-config).")]
    public double? LearningRate { get; init; }

    [CommandOption("--hidden <N>"), ConfigKey("hidden")]
    [Description("MLP width (default 128).")]
    public int? Hidden { get; init; }

    [CommandOption("--layers <N>"), ConfigKey("layers")]
    [Description("MLP linear layers (default 4).")]
    public int? Layers { get; init; }

    [CommandOption("--width <N>"), ConfigKey("width")]
    [Description("DiT width for glyphs/motion (default 96).")]
    public int? Width { get; init; }

    [CommandOption("--depth <N>"), ConfigKey("depth")]
    [Description("DiT blocks for glyphs/motion (default 4).")]
    public int? Depth { get; init; }

    [CommandOption("--prompt-tokens"), ConfigKey("promptTokens")]
    [Description("DiT: the prompt's words also join the attention sequence (in-context conditioning; off by default).")]
    public bool? PromptTokens { get; init; }

    [CommandOption("--data-std <SD>"), ConfigKey("dataStd")]
    [Description("DiT: EDM-style preconditioning for data of this standard deviation, flow schedule only (0 = off, the default).")]
    public double? DataStd { get; init; }

    [CommandOption("--ema <DECAY>"), ConfigKey("emaDecay")]
    [Description("EMA decay of the saved weights, 0 = off (default 0.999).")]
    public double? Ema { get; init; }

    [CommandOption("--class-conditional"), ConfigKey("classConditional")]
    [Description("Condition on the mixture component (enables classifier-free guidance).")]
    public bool? ClassConditional { get; init; }


    /// <summary>The task's defaults (or the resumed run's saved config, or the --config file), then every option given and every --set.</summary>
    public TeacherConfig ToConfig()
    {
        var c = Config is not null ? Json.Read<TeacherConfig>(Config, "config")
              : Resume is not null ? Json.Read<TeacherConfig>(Path.Combine(Resume, ModelDirectory.RunConfigFile), "saved config of the run to resume")
              : TeacherConfig.ForTask(Task ?? "ring8");
        return ConfigOverlay.Apply(c, this, Set);
    }
}

public sealed class TrainTeacherCommand : Command<TrainTeacherSettings>
{
    public override int Execute(CommandContext context, TrainTeacherSettings settings, CancellationToken cancellationToken)
    {
        var config = settings.ToConfig();
        config.Validate();
        if (settings.PrintConfig)
        {
            Console.WriteLine(Json.Serialize(config));
            return 0;
        }
        var sync = DataParallel.Join();
        var writer = sync.Rank == 0;
        if (writer && DataParallel.Describe(sync) is { } line) Console.WriteLine(line);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var interrupt = Interrupts.Install();
        Action<string>? warn = writer ? w => Console.Error.WriteLine($"warning: {w}") : null;
        ConsoleProgress.Run($"train-teacher {config.Task}", p => TeacherTrainer.Train(config, settings.OutDir, new RunOptions(settings.Resume is not null,
            interrupt.Token, warn, [new ProgressObserver(p)]), sync), show: writer);
        if (writer) PhasedDmd.Plotting.RunCurves.SaveFor(settings.OutDir);
        if (writer) AnsiConsole.MarkupLine($"[green]teacher saved[/] to {Markup.Escape(settings.OutDir)} in {clock.Elapsed.TotalSeconds:F1} s");
        if (writer && sync is MpiGroup group) Console.WriteLine($"gradients were reduced {group.ReductionPath}; {group.CommunicationSeconds:F1} s in MPI calls on rank 0");
        return 0;
    }
}
