using PhasedDmd.Distillation;

namespace PhasedDmd.Experiments;

public sealed record ComparisonSettings
{
    public int Seeds { get; init; } = 3;
    /// <summary>Generator updates per phase of the 2-phase phased run; single-expert baselines get twice as many, so every method makes the same number of generator updates.</summary>
    public int IterationsPerPhase { get; init; } = 1000;
    public int Steps { get; init; } = 4;
    public int EvalSamples { get; init; } = 5000;
    public DistillConfig Base { get; init; } = new();
    /// <summary>The exact distribution to score against, for a teacher whose task has none (e.g. imported); default: the task's mixture.</summary>
    public string? MixtureFile { get; init; }
}
