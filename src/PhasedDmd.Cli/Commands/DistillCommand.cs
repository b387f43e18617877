using System.ComponentModel;
using System.Globalization;
using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class DistillSettings : ResumableRunSettings
{
    [CommandOption("--teacher <DIR>")]
    [Description("Teacher model directory (from train-teacher).")]
    public string Teacher { get; init; } = "";

    [CommandOption("--method <METHOD>")]
    [Description("dmd (one step), fewstep (backprop through all steps), sgts (stochastic gradient truncation) or phased. Default: phased.")]
    public string? Method { get; init; }

    [CommandOption("--steps <N>")]
    [Description("Student steps N (default 4; dmd: 1).")]
    public int? Steps { get; init; }

    [CommandOption("--phases <K>")]
    [Description("Phases / experts K (default 2 for phased, 1 otherwise).")]
    public int? Phases { get; init; }

    [CommandOption("--boundaries <TIMES>")]
    [Description("Comma-separated phase boundary times on the grid, e.g. 0.8333 (default: equal phases).")]
    public string? Boundaries { get; init; }

    [CommandOption("--shift <K>")]
    [Description("Timestep shift of the student grid and of t sampling (default 1).")]
    public double? Shift { get; init; }

    [CommandOption("--interval <KIND>")]
    [Description("nested (t in (s, 1]], default) or disjoint (t in (s, phase start]]).")]   // help text is Spectre markup: ]] prints ]
    public string? Interval { get; init; }

    [CommandOption("--fake-objective <KIND>")]
    [Description("subinterval (Eq. 13, default) or naive (ablation).")]
    public string? FakeObjective { get; init; }

    [CommandOption("--dmd-loss <KIND>")]
    [Description("normalized (DMD2 normaliser in x0 space, default: measured better here) or analytic (the paper's weight).")]
    public string? DmdLoss { get; init; }

    [CommandOption("--truncation <KIND>")]
    [Description("exit (SGTS inside each phase) or full (backprop through every step of the phase). Default: the method's own.")]
    public string? Truncation { get; init; }

    [CommandOption("--experts <KIND>")]
    [Description("full (copies of the teacher, default) or lora (adapters on a frozen copy).")]
    public string? Experts { get; init; }

    [CommandOption("--lora-rank <R>")]
    [Description("LoRA rank (default 16).")]
    public int? LoraRank { get; init; }

    [CommandOption("--lora-alpha <A>")]
    [Description("LoRA alpha (default 16).")]
    public double? LoraAlpha { get; init; }

    [CommandOption("--solver <KIND>")]
    [Description("Rollout between student steps: euler (default) or renoise.")]
    public string? Solver { get; init; }

    [CommandOption("--iterations-per-phase <N>")]
    [Description("Generator updates per phase.")]
    public int? IterationsPerPhase { get; init; }

    [CommandOption("--batch-size <N>")]
    public int? BatchSize { get; init; }

    [CommandOption("--fake-updates <N>")]
    [Description("Fake score updates per generator update (default 5).")]
    public int? FakeUpdates { get; init; }

    [CommandOption("--lr <LR>")]
    [Description("Generator learning rate.")]
    public double? GeneratorLearningRate { get; init; }

    [CommandOption("--fake-lr <LR>")]
    [Description("Fake score learning rate.")]
    public double? FakeLearningRate { get; init; }

    [CommandOption("--teacher-cfg <W>")]
    [Description("Teacher guidance scale during distillation (conditional teachers).")]
    public double? TeacherCfg { get; init; }

    [CommandOption("--ema <DECAY>")]
    [Description("Generator EMA decay, 0 = off.")]
    public double? Ema { get; init; }

    [CommandOption("--init-from <DIR>")]
    [Description("Continue from a student: phases before --start-phase are loaded from it and frozen; the later experts start afresh from the teacher.")]
    public string? InitFrom { get; init; }

    [CommandOption("--start-phase <K>")]
    public int? StartPhase { get; init; }

    [CommandOption("--config <FILE>")]
    [Description("A distillation config JSON (e.g. a previous run_config.json); explicit options override it.")]
    public string? Config { get; init; }

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(Teacher) ? ValidationResult.Error("--teacher DIR is required") : base.Validate();

    public DistillConfig ToConfig()
    {
        var c = Config is not null ? Json.Read<DistillConfig>(Config, "config")
              : Resume is not null ? Json.Read<DistillConfig>(Path.Combine(Resume, ModelDirectory.RunConfigFile), "saved config of the run to resume")
              : DistillConfig.ForTeacher(ModelDirectory.ReadCard(Teacher));
        var method = Method ?? c.Method;
        // The single-expert baselines default to their own shape unless told otherwise.
        var defaultSteps = method == "dmd" ? 1 : c.Steps;
        var defaultPhases = method == "phased" ? c.Phases : 1;
        return c with
        {
            Method = method,
            Steps = Steps ?? (Config is null && Resume is null ? defaultSteps : c.Steps),
            Phases = Phases ?? (Config is null && Resume is null ? defaultPhases : c.Phases),
            Boundaries = Boundaries is null ? c.Boundaries : ParseList(Boundaries),
            Shift = Shift ?? c.Shift,
            Interval = Interval is null ? c.Interval : Parse<IntervalKind>(Interval, "--interval"),
            FakeObjective = FakeObjective is null ? c.FakeObjective : Parse<FakeObjective>(FakeObjective, "--fake-objective"),
            DmdLoss = DmdLoss is null ? c.DmdLoss : Parse<DmdLoss>(DmdLoss, "--dmd-loss"),
            Truncation = Truncation is null ? c.Truncation : Parse<Truncation>(Truncation, "--truncation"),
            Experts = Experts is null ? c.Experts : Parse<ExpertKind>(Experts, "--experts"),
            LoraRank = LoraRank ?? c.LoraRank,
            LoraAlpha = LoraAlpha ?? c.LoraAlpha,
            Solver = Solver is null ? c.Solver : Parse<RolloutSolver>(Solver, "--solver"),
            IterationsPerPhase = IterationsPerPhase ?? c.IterationsPerPhase,
            BatchSize = BatchSize ?? c.BatchSize,
            FakeUpdatesPerGeneratorUpdate = FakeUpdates ?? c.FakeUpdatesPerGeneratorUpdate,
            GeneratorLearningRate = GeneratorLearningRate ?? c.GeneratorLearningRate,
            FakeLearningRate = FakeLearningRate ?? c.FakeLearningRate,
            TeacherCfg = TeacherCfg ?? c.TeacherCfg,
            GeneratorEma = Ema ?? c.GeneratorEma,
            InitFrom = InitFrom ?? c.InitFrom,
            StartPhase = StartPhase ?? c.StartPhase,
            Seed = Seed ?? c.Seed,
            Device = Device ?? c.Device,
            Threads = Threads ?? c.Threads,
            CheckpointEvery = CheckpointEvery ?? c.CheckpointEvery,
        };
    }

    private static double[] ParseList(string text)
        => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v =>
            double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                ? d : throw new InputException($"--boundaries: '{v}' is not a number")).ToArray();

    internal static T Parse<T>(string value, string option) where T : struct, Enum
        => Enum.TryParse<T>(value.Replace("-", ""), ignoreCase: true, out var r) && Enum.IsDefined(r)
            ? r
            : throw new InputException($"{option}: unknown value '{value}' (expected {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))})");
}

public sealed class DistillCommand : Command<DistillSettings>
{
    public override int Execute(CommandContext context, DistillSettings settings, CancellationToken cancellationToken)
    {
        var config = settings.ToConfig();
        config.Validate();
        var (card, teacher) = ModelDirectory.Load(settings.Teacher);
        if (card.Student is not null) throw new InputException($"--teacher: {settings.Teacher} is a student, not a teacher");
        using (teacher)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var distiller = new Distiller(config, card, teacher);
            if (int.TryParse(Environment.GetEnvironmentVariable(FaultInjection.KillAfterPhase), out var killAfter))
                distiller.AfterPhaseCheckpoint = k => { if (k == killAfter) FaultInjection.KillSelf(); };
            using var interrupt = Interrupts.OnCtrlC();
            ConsoleProgress.Run($"distill {config.Method}", p => distiller.Run(settings.OutDir, p, resume: settings.Resume is not null,
                cancel: interrupt.Token, warn: w => Console.Error.WriteLine($"warning: {w}")));
            AnsiConsole.MarkupLine($"[green]student saved[/] to {Markup.Escape(settings.OutDir)} in {clock.Elapsed.TotalSeconds:F1} s " +
                                   $"({config.Method}, {config.Steps} steps, {distiller.Student.Layout.Phases} phase(s))");
        }
        return 0;
    }
}
