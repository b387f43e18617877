using System.Text.Json.Serialization;
using PhasedDmd.Diffusion;
using PhasedDmd.Data;

namespace PhasedDmd.Training;

/// <summary>
/// Everything that defines a teacher training run: an MLP on a point task (gmm1d, ring8,
/// grid9, a user mixture) or a DiT on a text-to-image / text-to-video task (glyphs, motion,
/// motion-free; start from <see cref="ForTask"/>), or a task of your own (<see cref="TaskRegistry"/>). Saved as
/// <c>run_config.json</c> in the model directory; pass it back with --config to replay.
/// </summary>
public sealed record TeacherConfig
{
    public string Task { get; init; } = "ring8";
    public string? MixtureFile { get; init; }
    public string Schedule { get; init; } = "flow";

    // network
    public int Hidden { get; init; } = 128;
    public int Layers { get; init; } = 4;
    public int TimeEmbedDim { get; init; } = 64;
    /// <summary>Condition on the mixture component (enables CFG); off by default.</summary>
    public bool ClassConditional { get; init; }
    /// <summary>Fraction of conditions replaced by the null class during training (for CFG).</summary>
    public double ConditionDropout { get; init; } = 0.1;

    // DiT (procedural tasks)
    public int Width { get; init; } = 128;
    public int Depth { get; init; } = 4;
    public int Heads { get; init; } = 4;
    public int Patch { get; init; } = 4;
    public int TubeletFrames { get; init; } = 2;
    /// <summary>Kernel of the DiT's depthwise convolution in every MLP (0 = a plain transformer MLP).</summary>
    public int LocalMixing { get; init; }
    /// <summary>The prompt's words also join the DiT's attention sequence (in-context conditioning).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]   // off: configs (and their resume hashes) read as before
    public bool PromptTokens { get; init; }
    /// <summary>σ_d of the DiT's EDM-style preconditioning (flow schedule only); 0 = the network outputs v directly.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double DataStd { get; init; }

    // optimisation
    public int Iterations { get; init; } = 8000;
    public int BatchSize { get; init; } = 512;
    public double LearningRate { get; init; } = 2e-3;
    public double MinLearningRateFraction { get; init; } = 0.05;
    public int WarmupIterations { get; init; } = 100;
    public double WeightDecay { get; init; }
    /// <summary>EMA decay of the saved weights; 0 disables EMA.</summary>
    public double EmaDecay { get; init; } = 0.999;
    /// <summary>Training times t ~ shift(U(tMin, 1)).</summary>
    public double TMin { get; init; } = 1e-3;
    public double TrainShift { get; init; } = 1.0;

    // default sampling written into the model card
    public int SampleSteps { get; init; } = 40;
    public string SampleSolver { get; init; } = "euler";
    /// <summary>Classifier-free guidance scale written into the model card (conditional models).</summary>
    public double SampleCfg { get; init; } = 1.0;

    // run
    public int Seed { get; init; }
    public string Device { get; init; } = "cpu";
    /// <summary>libtorch intra-op threads; 0 keeps libtorch's default.</summary>
    public int Threads { get; init; }
    public int LogEvery { get; init; } = 50;
    /// <summary>Write a resumable checkpoint every this many iterations; 0 = never.</summary>
    public int CheckpointEvery { get; init; } = 1000;

    /// <summary>Checks every field before any work starts; the message names the field.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message) { if (!ok) throw new InputException(message); }
        var task = Definition;   // an unknown name is one error listing the registered tasks
        Require(task.HasTrainingData, $"task: '{Task}' has no training data (a teacher trains on one of: {TaskRegistry.Names<ITeacherTask>(t => t.HasTrainingData)})");
        task.Validate(this);
        Require(Schedule is "flow" or "vp-cosine", $"schedule: unknown schedule '{Schedule}' (expected flow or vp-cosine)");
        Require(Hidden >= 1, $"hidden: must be ≥ 1 (got {Hidden})");
        Require(Layers >= 2, $"layers: must be ≥ 2 (got {Layers})");
        Require(TimeEmbedDim >= 2 && TimeEmbedDim % 2 == 0, $"timeEmbedDim: must be an even number ≥ 2 (got {TimeEmbedDim})");
        Require(ConditionDropout is >= 0 and < 1, $"conditionDropout: must be in [0, 1) (got {ConditionDropout})");
        Require(Iterations >= 1, $"iterations: must be ≥ 1 (got {Iterations})");
        Require(BatchSize >= 1, $"batchSize: must be ≥ 1 (got {BatchSize})");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"learningRate: must be a positive number (got {LearningRate})");
        Require(MinLearningRateFraction is >= 0 and <= 1, $"minLearningRateFraction: must be in [0, 1] (got {MinLearningRateFraction})");
        Require(WarmupIterations >= 0, $"warmupIterations: must be ≥ 0 (got {WarmupIterations})");
        Require(WeightDecay >= 0, $"weightDecay: must be ≥ 0 (got {WeightDecay})");
        Require(EmaDecay is >= 0 and < 1, $"emaDecay: must be in [0, 1) (got {EmaDecay})");
        Require(TMin is >= 0 and < 1, $"tMin: must be in [0, 1) (got {TMin})");
        Require(TrainShift > 0, $"trainShift: must be positive (got {TrainShift})");
        Require(SampleSteps >= 1, $"sampleSteps: must be ≥ 1 (got {SampleSteps})");
        Require(SampleSolver is "euler" or "heun", $"sampleSolver: unknown solver '{SampleSolver}' (expected euler or heun)");
        Require(SampleCfg >= 0 && double.IsFinite(SampleCfg), $"sampleCfg: must be ≥ 0 (got {SampleCfg})");
        Require(Width >= 8 && Heads >= 1 && Width % Heads == 0, $"width: must be ≥ 8 and divisible by heads {Heads} (got {Width})");
        Require(Depth >= 1, $"depth: must be ≥ 1 (got {Depth})");
        Require(LocalMixing == 0 || (LocalMixing >= 1 && LocalMixing % 2 == 1), $"localMixing: must be 0 (off) or an odd kernel size (got {LocalMixing})");
        Require(DataStd >= 0 && double.IsFinite(DataStd), $"dataStd: must be 0 (off) or positive (got {DataStd})");
        Require(DataStd == 0 || Schedule == "flow", $"dataStd: the DiT preconditioning is derived for the flow schedule (got schedule '{Schedule}')");
        Require(Patch >= 1 && TubeletFrames >= 1, $"patch and tubeletFrames: must be ≥ 1 (got {Patch}, {TubeletFrames})");
        Require(Threads >= 0, $"threads: must be ≥ 0 (got {Threads})");
        Require(LogEvery >= 1, $"logEvery: must be ≥ 1 (got {LogEvery})");
        Require(CheckpointEvery >= 0, $"checkpointEvery: must be ≥ 0 (got {CheckpointEvery})");
        Require(Device is "cpu" || Device.StartsWith("cuda", StringComparison.Ordinal), $"device: expected cpu or cuda[:N] (got '{Device}')");
    }

    /// <summary>The task this config trains on (<see cref="TaskRegistry"/>).</summary>
    [JsonIgnore]
    public ITeacherTask Definition => TaskRegistry.Find<ITeacherTask>(Task, "teacher training");

    /// <summary>The default config of a task (<see cref="ITeacherTask.TeacherDefaults"/>): an MLP for points, a DiT sized for 2 CPU cores for images and videos.</summary>
    public static TeacherConfig ForTask(string task) => TaskRegistry.Find<ITeacherTask>(task, "teacher training").TeacherDefaults();

    public NoiseSchedule ResolveSchedule() => NoiseSchedule.FromName(Schedule);
}
