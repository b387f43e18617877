using PhasedDmd.Cli.Support;
using System.ComponentModel;
using PhasedDmd.Distillation;
using PhasedDmd.Training;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class DistillSettings : ResumableRunSettings
{
    [CommandOption("--teacher <DIR>")]
    [Description("Teacher model directory (from train-teacher).")]
    public string Teacher { get; init; } = "";

    [CommandOption("--method <METHOD>"), ConfigKey("method")]
    [Description("dmd (one step), fewstep (backprop through all steps), sgts (stochastic gradient truncation) or phased. Default: phased.")]
    public string? Method { get; init; }

    [CommandOption("--steps <N>"), ConfigKey("steps")]
    [Description("Student steps N (default 4; dmd: 1).")]
    public int? Steps { get; init; }

    [CommandOption("--phases <K>"), ConfigKey("phases")]
    [Description("Phases / experts K (default 2 for phased, 1 otherwise).")]
    public int? Phases { get; init; }

    [CommandOption("--boundaries <TIMES>"), ConfigKey("boundaries")]
    [Description("Comma-separated phase boundary times on the grid, e.g. 0.8333 (default: equal phases).")]
    public string? Boundaries { get; init; }

    [CommandOption("--shift <K>"), ConfigKey("shift")]
    [Description("Timestep shift of the student grid and of t sampling (default 1).")]
    public double? Shift { get; init; }

    [CommandOption("--interval <KIND>"), ConfigKey("interval")]
    [Description("nested (t in (s, 1]], default) or disjoint (t in (s, phase start]]).")]   // help text is Spectre markup: ]] prints ]
    public string? Interval { get; init; }

    [CommandOption("--fake-objective <KIND>"), ConfigKey("fakeObjective")]
    [Description("subinterval (Eq. 13, default) or naive (ablation), or an objective registered with Objectives.Register.")]
    public string? FakeObjective { get; init; }

    [CommandOption("--dmd-loss <KIND>"), ConfigKey("dmdLoss")]
    [Description("normalized (DMD2 normaliser in x0 space, default: measured better here) or analytic (the paper's weight), or an objective registered with Objectives.Register.")]
    public string? DmdLoss { get; init; }

    [CommandOption("--truncation <KIND>"), ConfigKey("truncation")]
    [Description("sgts (stochastic gradient truncation inside each phase) or full (backprop through every step of the phase). Default: the method's own.")]
    public string? Truncation { get; init; }

    [CommandOption("--experts <KIND>"), ConfigKey("experts")]
    [Description("full (trainable copies of the teacher, default) or lora (adapters on the teacher's frozen base, held once for every expert and fake score; a TorchScript teacher needs adapters declared at import: import-teacher --adapters).")]
    public string? Experts { get; init; }

    [CommandOption("--precision <P>"), ConfigKey("precision")]
    [Description("fp32 (default) or bf16: bfloat16 weights and compute for the teacher, experts and fake scores (half the memory of every frozen copy); trained weights keep float32 masters and optimizer states, losses are float32, the saved student is float32.")]
    public string? Precision { get; init; }

    [CommandOption("--lora-rank <R>"), ConfigKey("loraRank")]
    [Description("LoRA rank (default 16).")]
    public int? LoraRank { get; init; }

    [CommandOption("--lora-alpha <A>"), ConfigKey("loraAlpha")]
    [Description("LoRA alpha (default 16).")]
    public double? LoraAlpha { get; init; }

    [CommandOption("--fake-experts <KIND>"), ConfigKey("fakeExperts")]
    [Description("The fake scores: full or lora (default: as --experts; the paper trains a full fake score beside LoRA experts).")]
    public string? FakeExperts { get; init; }

    [CommandOption("--lora-targets <REGEX>"), ConfigKey("loraTargets")]
    [Description("LoRA on the linear layers whose module path matches REGEX (e.g. 'qkv|proj'); default: the layers the network marks as adaptable.")]
    public string? LoraTargets { get; init; }

    [CommandOption("--solver <KIND>"), ConfigKey("solver")]
    [Description("Rollout between student steps: euler (default) or renoise.")]
    public string? Solver { get; init; }

    [CommandOption("--iterations-per-phase <N>"), ConfigKey("iterationsPerPhase")]
    [Description("Generator updates per phase (default: depends on the teacher, see --print-config).")]
    public int? IterationsPerPhase { get; init; }

    [CommandOption("--batch-size <N>"), ConfigKey("batchSize")]
    [Description("Samples per update (global over all processes; default: depends on the teacher, see --print-config).")]
    public int? BatchSize { get; init; }

    [CommandOption("--micro-batch <M>"), ConfigKey("microBatch")]
    [Description("Run each process's batch in micro-batches of M samples and add their gradients: the same update with a fraction of the activation memory (gradient accumulation). Default: the whole batch at once.")]
    public int? MicroBatch { get; init; }

    [CommandOption("--fake-updates <N>"), ConfigKey("fakeUpdatesPerGeneratorUpdate")]
    [Description("Fake score updates per generator update (default: depends on the teacher, 5 for MLP teachers, 2 for DiT ones; see --print-config).")]
    public int? FakeUpdates { get; init; }

    [CommandOption("--lr <LR>"), ConfigKey("generatorLearningRate")]
    [Description("Generator learning rate (default: depends on the teacher, see --print-config).")]
    public double? GeneratorLearningRate { get; init; }

    [CommandOption("--fake-lr <LR>"), ConfigKey("fakeLearningRate")]
    [Description("Fake score learning rate (default: depends on the teacher, see --print-config).")]
    public double? FakeLearningRate { get; init; }

    [CommandOption("--teacher-cfg <W>"), ConfigKey("teacherCfg")]
    [Description("Teacher guidance scale during distillation (conditional teachers; default: the teacher's own sampling CFG for DiT teachers, 1 otherwise).")]
    public double? TeacherCfg { get; init; }

    [CommandOption("--grad-clip <NORM>"), ConfigKey("gradClip")]
    [Description("Clip the generator's gradient norm to NORM (0 = off, the default).")]
    public double? GradClip { get; init; }

    [CommandOption("--ema <DECAY>"), ConfigKey("generatorEma")]
    [Description("Generator EMA decay, 0 = off (default 0.99).")]
    public double? Ema { get; init; }

    [CommandOption("--validate-every <N>"), ConfigKey("validateEvery")]
    [Description("Validate the student against the teacher's samples every N updates, at every phase end and before training; 0 = off (default: a fifth of a phase, see --print-config). Logged to train_log.csv as val_* columns; see docs/monitoring.md.")]
    public int? ValidateEvery { get; init; }

    [CommandOption("--validation-samples <V>"), ConfigKey("validationSamples")]
    [Description("Size of the validation set: teacher samples drawn once at the start of the run (default 256).")]
    public int? ValidationSamples { get; init; }

    [CommandOption("--keep-best"), ConfigKey("keepBest")]
    [Description("Keep the student of the lowest validation distance (val_swd) in the last phase in OUT/best beside the final one.")]
    public bool? KeepBest { get; init; }

    [CommandOption("--init-from <DIR>"), ConfigKey("initFrom")]
    [Description("Continue from a student: phases before --start-phase are loaded from it and frozen; the later experts start afresh from the teacher.")]
    public string? InitFrom { get; init; }

    [CommandOption("--start-phase <K>"), ConfigKey("startPhase")]
    [Description("First phase to train (with --init-from).")]
    public int? StartPhase { get; init; }

    [CommandOption("--config <FILE>")]
    [Description("A distillation config JSON (e.g. a previous run_config.json); explicit options override it.")]
    public string? Config { get; init; }

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(Teacher) ? ValidationResult.Error("--teacher DIR is required") : base.Validate();

    /// <summary>
    /// The effective config: a --config file, the run being resumed, or the teacher's defaults shaped
    /// by the method's preset; then every option given and every --set.
    /// </summary>
    public DistillConfig ToConfig()
    {
        if (Config is not null) return ConfigOverlay.Apply(Json.Read<DistillConfig>(Config, "config"), this, Set);
        if (Resume is not null)
            return ConfigOverlay.Apply(Json.Read<DistillConfig>(Path.Combine(Resume, ModelDirectory.RunConfigFile), "saved config of the run to resume"), this, Set);
        var defaults = DistillConfig.ForTeacher(ModelDirectory.ReadTeacherCard(Teacher, "--teacher"));
        var method = ConfigOverlay.Apply(defaults, this, Set).Method;   // --method or --set method=…
        var config = ConfigOverlay.Apply(DistillationMethod.Find(method).Shape(defaults), this, Set);
        // The default validation interval follows the phase length the user chose.
        var validationGiven = ValidateEvery is not null || (Set ?? []).Any(s => s.TrimStart().StartsWith("validateEvery", StringComparison.Ordinal));
        return validationGiven ? config : config with { ValidateEvery = DistillConfig.DefaultValidateEvery(config.IterationsPerPhase) };
    }
}

public sealed class DistillCommand : Command<DistillSettings>
{
    public override int Execute(CommandContext context, DistillSettings settings, CancellationToken cancellationToken)
    {
        var config = settings.ToConfig();
        config.Validate();
        if (settings.PrintConfig)
        {
            Console.WriteLine(Json.Serialize(config));
            return 0;
        }
        var card = ModelDirectory.ReadTeacherCard(settings.Teacher, "--teacher");
        var sync = DataParallel.Join();
        var writer = sync.Rank == 0;
        if (writer && DataParallel.Describe(sync) is { } line) Console.WriteLine(line);
        using (var teacher = ModelDirectory.Load(settings.Teacher).Model)
        {
            if (config.Precision == Precision.Bf16) UseBf16Kernels(config, card, teacher, writer);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var distiller = new Distiller(config, card, teacher, sync);
            using var interrupt = Interrupts.Install();
            Action<string>? warn = writer ? w => Console.Error.WriteLine($"warning: {w}") : null;
            ProgressObserver? pace = null;
            ConsoleProgress.Run($"distill {config.Method}", p => distiller.Run(settings.OutDir, new RunOptions(settings.Resume is not null, interrupt.Token,
                warn, [pace = new ProgressObserver(p), .. FaultInjection.Observers()])), show: writer);
            var measured = pace?.SecondsPerUpdate is { } s ? $", {s:0.###} s per update" : "";
            if (distiller.ValidationSeconds > 0) measured += $"; validation {distiller.ValidationSeconds:F1} s, {100 * distiller.ValidationSeconds / clock.Elapsed.TotalSeconds:F1} % of the run";
            if (writer)
                AnsiConsole.MarkupLine($"[green]student saved[/] to {Markup.Escape(settings.OutDir)} in {clock.Elapsed.TotalSeconds:F1} s " +
                                       $"({config.Method}, {config.Steps} steps, {distiller.Student.Layout.Phases} phase(s){measured})");
        if (writer && sync is MpiGroup group) Console.WriteLine($"gradients were reduced {group.ReductionPath}; {group.CommunicationSeconds:F1} s in MPI calls on rank 0");
        }
        return 0;
    }

    /// <summary>
    /// oneDNN's bf16 matrix kernels are about four times faster than float32 here, but only above the AVX2 cap that keeps its
    /// convolutions right (<see cref="OneDnn"/>). This process runs the teacher's network and, when validating, the task's feature
    /// network: the cap is lifted when neither can hold a convolution, and otherwise the user is told why bf16 will be slow.
    /// </summary>
    private static void UseBf16Kernels(DistillConfig config, ModelCard card, Models.VelocityModel teacher, bool writer)
    {
        var encoder = config.ValidateEvery > 0 && TaskRegistry.TryFind(card.Task.Name) is IEncoderTask { Encoder: not null };
        if (!encoder && OneDnn.HasNoConvolutionWeights(teacher) && OneDnn.LiftCapForBf16()) return;
        if (writer && OneDnn.MaxCpuIsa != OneDnn.Bf16Isa)
            Console.Error.WriteLine($"warning: bf16 runs without oneDNN's bf16 kernels ({OneDnn.Variable}={OneDnn.MaxCpuIsa}: " +
                                    (encoder ? "validation uses the task's convolutional feature network" : "the teacher may hold convolutions, which oneDNN computes wrongly above AVX2") +
                                    $"), so it saves memory but is slower than fp32 on a CPU; for a network without convolutions set {OneDnn.Variable}={OneDnn.Bf16Isa}" +
                                    (encoder ? " and --validate-every 0" : ""));
    }
}
