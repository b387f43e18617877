namespace PhasedDmd.Experiments;

/// <summary>Settings of the paper's Fig. 2 experiment (method.md §4.4).</summary>
public sealed record Toy1dConfig
{
    public string? MixtureFile { get; init; }
    public double Boundary { get; init; } = 0.5;
    public int Hidden { get; init; } = 256;
    public int Layers { get; init; } = 4;
    public int Iterations { get; init; } = 1500;
    public int BatchSize { get; init; } = 512;
    public double LearningRate { get; init; } = 1e-3;
    public double EmaDecay { get; init; } = 0.995;
    public int Trajectories { get; init; } = 200;
    public int EulerSteps { get; init; } = 100;
    public int Seed { get; init; }
    public int Threads { get; init; }

    public void Validate()
    {
        if (!(Boundary > 0 && Boundary < 1)) throw new InputException($"boundary: must be in (0, 1) (got {Boundary})");
        if (Iterations < 1) throw new InputException($"iterations: must be ≥ 1 (got {Iterations})");
        if (Trajectories < 1) throw new InputException($"trajectories: must be ≥ 1 (got {Trajectories})");
        if (EulerSteps < 1) throw new InputException($"eulerSteps: must be ≥ 1 (got {EulerSteps})");
        if (Hidden < 1 || Layers < 2) throw new InputException("hidden/layers: need hidden ≥ 1 and layers ≥ 2");
    }
}
