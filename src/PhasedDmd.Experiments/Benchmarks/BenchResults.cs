namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>Everything <c>phased-dmd bench</c> measured: written as bench.json.</summary>
public sealed record BenchResults
{
    public required bool Quick { get; init; }
    public required int Threads { get; init; }
    public required string Machine { get; init; }
    public List<UpdateMeasurement> Updates { get; init; } = [];
    public List<MemorySummary> Memory { get; init; } = [];
    public SamplingMeasurement? Sampling { get; init; }
    public EfficiencyMeasurement? Efficiency { get; init; }
    public MemoryGrowthMeasurement? MemoryGrowth { get; init; }
    public PyTorchReference? PyTorch { get; init; }
    /// <summary>Our DiT DMD update time / the PyTorch reference's (same shapes, threads, batch, fake updates).</summary>
    public double DmdUpdateRatioOursOverPyTorch { get; init; } = double.NaN;
    public double TrainStepRatioOursOverPyTorch { get; init; } = double.NaN;
}
