using System.Text.Json.Serialization;
using PhasedDmd.Generators;

namespace PhasedDmd.Distillation;

/// <summary>
/// A distillation run: every setting, one record (the four methods are its presets, see
/// <see cref="DistillationMethod"/>). Saved as run_config.json in the run directory; replay it with
/// <c>--config</c>, and set any key from the command line with <c>--set key=value</c>.
/// </summary>
public sealed record DistillConfig
{
    /// <summary>
    /// The defaults for a teacher, as its task says (<see cref="IDistillationTask.DistillDefaults"/>; docs/import.md,
    /// "Distillation defaults"): for the point tasks' MLPs the prototype's settings; for the DiT teachers of the image
    /// and video tasks, and any imported teacher whose sample has more than <see cref="SmallSample"/> numbers,
    /// <see cref="LargeSampleDefaults"/>. A teacher's own guidance scale is the teacherCfg, and an imported teacher's
    /// sampler and shift are the student's (DDIM steps on a discrete VP schedule).
    /// </summary>
    /// <remarks>Validation is on in these defaults (every <see cref="DefaultValidateEvery"/> updates); a bare record has it off.</remarks>
    public static DistillConfig ForTeacher(IO.ModelCard teacher)
    {
        var defaults = Data.TaskRegistry.TryFind(teacher.Task.Name) is IDistillationTask task ? task.DistillDefaults(teacher) : new DistillConfig();
        return defaults.ValidateEvery > 0 ? defaults : defaults with { ValidateEvery = DefaultValidateEvery(defaults.IterationsPerPhase) };
    }

    /// <summary>The default validation interval: five validations per phase (the last at its end) and one before training; measured to cost a few per cent of a run once the teacher's reference samples are cached (docs/monitoring.md).</summary>
    public static int DefaultValidateEvery(int iterationsPerPhase) => Math.Max(1, iterationsPerPhase / 5);

    /// <summary>A smaller batch and fewer fake updates for teachers of large samples, sized by measurement to distil in minutes on 2 CPU cores.</summary>
    public static DistillConfig LargeSampleDefaults => new()
    {
        BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 2, IterationsPerPhase = 300, GeneratorLearningRate = 1e-4, FakeLearningRate = 1e-4,
        LogEvery = 10, CheckpointEvery = 50,
    };

    /// <summary>An ε teacher's experts train at the generator learning rate divided by this (measured, docs/import.md).</summary>
    public const double EpsilonLearningRateDivisor = 3;

    /// <summary>Samples of at most this many numbers (points, small vectors) get the MLP defaults.</summary>
    public const int SmallSample = 16;

    public string Method { get; init; } = "phased";
    public int Steps { get; init; } = 4;
    public int Phases { get; init; } = 2;
    /// <summary>Boundary times (must lie on the grid); empty = phases of equal length.</summary>
    public double[] Boundaries { get; init; } = [];
    public double Shift { get; init; } = 1.0;
    public IntervalKind Interval { get; init; } = IntervalKind.ReverseNested;
    /// <summary>The fake score's objective by name (<see cref="Objectives"/>): subinterval (Eq. 13) or naive (ablation), or one you register.</summary>
    public string FakeObjective { get; init; } = Objectives.Subinterval.Name;
    /// <summary>Upper clamp of 1/σ²_{t|s} in Eq. 13.</summary>
    public double FakeLossClamp { get; init; } = 10.0;
    /// <summary>The generator's objective by name (<see cref="Objectives"/>): normalized (DMD2 normaliser) or analytic (the paper's weight), or one you register.</summary>
    public string DmdLoss { get; init; } = Objectives.Normalized.Name;
    /// <summary>Null = the method's own (<see cref="DistillationMethod.Truncation"/>: sgts for sgts and phased, full for fewstep and dmd).</summary>
    public Truncation? Truncation { get; init; }
    /// <summary>Full copies of the teacher, or LoRA adapters on its shared frozen base (experts and fake scores alike).</summary>
    public ExpertKind Experts { get; init; } = ExpertKind.Full;
    public int LoraRank { get; init; } = 16;
    public double LoraAlpha { get; init; } = 16;
    /// <summary>A regex over module paths choosing the linear layers that get adapters; null: the layers the network marks as adaptable.</summary>
    public string? LoraTargets { get; init; }
    /// <summary>The fake scores' kind; null: the experts' (the paper trains a full fake score beside LoRA experts: full).</summary>
    public ExpertKind? FakeExperts { get; init; }
    /// <summary>What the fake scores are: <see cref="FakeExperts"/>, or the experts' kind.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public ExpertKind FakeKind => FakeExperts ?? Experts;
    public RolloutSolver Solver { get; init; } = RolloutSolver.Euler;

    public int IterationsPerPhase { get; init; } = 1000;
    /// <summary>Per-phase overrides of IterationsPerPhase (e.g. [1000, 4000] for the Fig. 5 study).</summary>
    public int[] PhaseIterations { get; init; } = [];
    public int BatchSize { get; init; } = 512;
    /// <summary>Run each process's batch in micro-batches of this many samples with the same update (gradient accumulation); 0 = the whole batch at once.</summary>
    public int MicroBatch { get; init; }
    public int FakeUpdatesPerGeneratorUpdate { get; init; } = 5;
    public double GeneratorLearningRate { get; init; } = 3e-4;
    public double FakeLearningRate { get; init; } = 3e-4;
    public double Beta1 { get; init; }
    public double Beta2 { get; init; } = 0.999;
    public double WeightDecay { get; init; }
    /// <summary>Clip the generator's gradient norm; 0 = off.</summary>
    public double GradClip { get; init; }
    /// <summary>Generator EMA decay (the EMA expert is the one frozen and used); 0 = off.</summary>
    public double GeneratorEma { get; init; } = 0.99;
    /// <summary>Blend the student into the fake after each generator step (fake ← (1−b) fake + b student); 0 = off. Full experts only.</summary>
    public double FakeStudentBlend { get; init; }
    /// <summary>Margin above the boundary s for the re-noising time (and lower bound on t in the last phase).</summary>
    public double TimeMargin { get; init; } = 0.02;
    /// <summary>Teacher classifier-free guidance during distillation (conditional teachers).</summary>
    public double TeacherCfg { get; init; } = 1.0;

    /// <summary>Continue from this student: phases before StartPhase are loaded and kept frozen.</summary>
    public string? InitFrom { get; init; }
    public int StartPhase { get; init; } = 1;

    /// <summary>Write a resumable checkpoint every this many generator updates (and at every phase boundary); 0 = only at boundaries.</summary>
    public int CheckpointEvery { get; init; } = 100;
    /// <summary>Stop after this many consecutive updates with non-finite losses or gradients (each is skipped).</summary>
    public int MaxNonFiniteInARow { get; init; } = 10;

    public int Seed { get; init; }
    public string Device { get; init; } = "cpu";
    /// <summary>
    /// What the teacher, experts and fake scores hold and compute in: fp32, or bf16 (bfloat16 weights and compute; what trains keeps a
    /// float32 master copy and float32 optimizer states, and the losses are float32). The saved student is float32.
    /// </summary>
    public Training.Precision Precision { get; init; } = Training.Precision.Fp32;
    public int Threads { get; init; }
    public int LogEvery { get; init; } = 20;

    /// <summary>Validate the student against the teacher every this many updates, at every phase end and before training (<see cref="ValidationMonitor"/>); 0 = off.</summary>
    public int ValidateEvery { get; init; }
    /// <summary>The validation set's size V: teacher samples drawn once at the start of the run.</summary>
    public int ValidationSamples { get; init; } = 256;
    /// <summary>Keep the student of the lowest validation distance in the last phase in best/ beside the final one.</summary>
    public bool KeepBest { get; init; }

    /// <summary>The truncation actually used: the config's, or the method's own.</summary>
    [JsonIgnore]
    public Truncation EffectiveTruncation => Truncation ?? DistillationMethod.Find(Method).Truncation;

    public int IterationsOf(int phase) => PhaseIterations.Length >= phase ? PhaseIterations[phase - 1] : IterationsPerPhase;

    /// <summary>Generator updates a run makes: the phases from StartPhase on.</summary>
    public long TrainedUpdates(PhaseLayout layout) => Enumerable.Range(StartPhase, layout.Phases - StartPhase + 1).Sum(k => (long)IterationsOf(k));

    /// <summary>
    /// Phase k's re-noising interval (s_k, upper] (method.md §4.2): reverse-nested intervals reach
    /// up to t = 1, disjoint ones only to the phase's start t_{b(k−1)}.
    /// </summary>
    public (double Boundary, double Upper) RenoisingInterval(PhaseLayout layout, int k)
        => (layout.BoundaryTime(k), Interval == IntervalKind.ReverseNested ? 1.0 : layout.StartTime(k));

    /// <summary>Validates every field and builds the phase layout; messages name the field.</summary>
    public PhaseLayout Validate()
    {
        static void Require(bool ok, string message) { if (!ok) throw new InputException(message); }
        var method = DistillationMethod.Find(Method);
        Objectives.FakeScore(FakeObjective);   // unknown names are errors naming the key and the registered objectives
        Objectives.Generator(DmdLoss);
        Require(Steps >= 1, $"steps: must be ≥ 1 (got {Steps})");
        Require(Phases >= 1, $"phases: must be ≥ 1 (got {Phases})");
        if (method.FixedSteps is { } fixedSteps)
            Require(Steps == fixedSteps, $"steps: {Method} is a {(fixedSteps == 1 ? "one" : fixedSteps.ToString())}-step method (got steps {Steps}; use fewstep, sgts or phased)");
        if (!method.MultiPhase)
            Require(Phases == 1 && Boundaries.Length == 0, $"phases: {Method} has a single expert (got {Phases} phases; use phased)");
        Require(IterationsPerPhase >= 1, $"iterationsPerPhase: must be ≥ 1 (got {IterationsPerPhase})");
        Require(PhaseIterations.All(i => i >= 1), "phaseIterations: every entry must be ≥ 1");
        Require(BatchSize >= 1, $"batchSize: must be ≥ 1 (got {BatchSize})");
        Require(MicroBatch >= 0, $"microBatch: must be ≥ 0, 0 = the whole batch (got {MicroBatch})");
        Require(FakeUpdatesPerGeneratorUpdate >= 1, $"fakeUpdatesPerGeneratorUpdate: must be ≥ 1 (got {FakeUpdatesPerGeneratorUpdate})");
        Require(GeneratorLearningRate > 0 && double.IsFinite(GeneratorLearningRate), $"generatorLearningRate: must be a positive number (got {GeneratorLearningRate})");
        Require(FakeLearningRate > 0 && double.IsFinite(FakeLearningRate), $"fakeLearningRate: must be a positive number (got {FakeLearningRate})");
        Require(Beta1 is >= 0 and < 1, $"beta1: must be in [0, 1) (got {Beta1})");
        Require(Beta2 is >= 0 and < 1, $"beta2: must be in [0, 1) (got {Beta2})");
        Require(WeightDecay >= 0, $"weightDecay: must be ≥ 0 (got {WeightDecay})");
        Require(GradClip >= 0, $"gradClip: must be ≥ 0 (got {GradClip})");
        Require(GeneratorEma is >= 0 and < 1, $"generatorEma: must be in [0, 1) (got {GeneratorEma})");
        Require(FakeStudentBlend is >= 0 and <= 1, $"fakeStudentBlend: must be in [0, 1] (got {FakeStudentBlend})");
        Require(FakeStudentBlend == 0 || (Experts == ExpertKind.Full && FakeKind == ExpertKind.Full), "fakeStudentBlend: needs full experts and fake scores (LoRA ones share the teacher's base)");
        Require(TimeMargin is >= 0 and < 0.5, $"timeMargin: must be in [0, 0.5) (got {TimeMargin})");
        Require(FakeLossClamp > 0, $"fakeLossClamp: must be positive (got {FakeLossClamp})");
        Require(TeacherCfg >= 0 && double.IsFinite(TeacherCfg), $"teacherCfg: must be ≥ 0 (got {TeacherCfg})");
        Require(LoraRank >= 1, $"loraRank: must be ≥ 1 (got {LoraRank})");
        Require(LoraAlpha > 0, $"loraAlpha: must be positive (got {LoraAlpha})");
        Require(Threads >= 0, $"threads: must be ≥ 0 (got {Threads})");
        Require(LogEvery >= 1, $"logEvery: must be ≥ 1 (got {LogEvery})");
        Require(ValidateEvery >= 0, $"validateEvery: must be ≥ 0, 0 = off (got {ValidateEvery})");
        Require(ValidationSamples >= 2, $"validationSamples: must be ≥ 2 (got {ValidationSamples})");
        Require(!KeepBest || ValidateEvery > 0, "keepBest: needs validation (validateEvery > 0)");
        Require(CheckpointEvery >= 0, $"checkpointEvery: must be ≥ 0 (got {CheckpointEvery})");
        Require(MaxNonFiniteInARow >= 1, $"maxNonFiniteInARow: must be ≥ 1 (got {MaxNonFiniteInARow})");
        Require(Boundaries.All(double.IsFinite), "boundaries: every entry must be a finite number");
        Require(double.IsFinite(Shift), $"shift: must be a finite number (got {Shift})");
        Require(Device is "cpu" || Device.StartsWith("cuda", StringComparison.Ordinal), $"device: expected cpu or cuda[:N] (got '{Device}')");
        var layout = Boundaries.Length > 0
            ? PhaseLayout.FromBoundaryTimes(Steps, Shift, Boundaries)
            : PhaseLayout.Even(Steps, Phases, Shift);
        Require(Boundaries.Length == 0 || layout.Phases == Phases,
            $"boundaries: {Boundaries.Length} boundaries make {Boundaries.Length + 1} phases but phases is {Phases}");
        Require(StartPhase >= 1 && StartPhase <= layout.Phases, $"startPhase: must be in 1..{layout.Phases} (got {StartPhase})");
        Require(StartPhase == 1 || InitFrom is not null, "startPhase: continuing from a later phase needs initFrom (a student directory)");
        Require(PhaseIterations.Length == 0 || PhaseIterations.Length == layout.Phases,
            $"phaseIterations: needs one entry per phase ({layout.Phases}), got {PhaseIterations.Length}");
        for (var k = 1; k <= layout.Phases; k++)
        {
            var (s, hi) = RenoisingInterval(layout, k);
            Require(s + TimeMargin < hi, $"timeMargin: phase {k}'s interval ({s:0.###} + {TimeMargin}, {hi:0.###}] is empty");
        }
        return layout;
    }
}
