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
    /// <summary>Phased K = 2 updates of the ring8 MLP written in PyTorch and imported from TorchScript (the native row is in <see cref="Updates"/>).</summary>
    public UpdateMeasurement? TorchScriptUpdate { get; init; }
    /// <summary>Imported / native time per phased K = 2 update of the same MLP architecture.</summary>
    public double TorchScriptOverNativeUpdateRatio { get; init; } = double.NaN;
    /// <summary>Why the imported row is missing; null when it ran.</summary>
    public string? TorchScriptSkipped { get; init; }
    /// <summary>The size table: methods on the ~100M transformer with full and LoRA experts (empty unless bench --size).</summary>
    public List<SizeMeasurement> Size { get; init; } = [];
    /// <summary>Why the size table is missing; null when it ran.</summary>
    public string? SizeSkipped { get; init; }
    /// <summary>Phased K = 2 updates at one global batch on 1 rank × T threads, 1 rank × 1 thread and 2 ranks × 1 thread.</summary>
    public List<ParallelMeasurement> DataParallel { get; init; } = [];
    /// <summary>Why the 2-rank rows are missing (no mpirun); null when they ran.</summary>
    public string? DataParallelSkipped { get; init; }
    /// <summary>Per model, the throughput model fitted to the data-parallel rows.</summary>
    public Dictionary<string, ScalingModel> Scaling { get; init; } = [];
    /// <summary>Our DiT DMD update time / the PyTorch reference's (same shapes, threads, batch, fake updates).</summary>
    public double DmdUpdateRatioOursOverPyTorch { get; init; } = double.NaN;
    public double TrainStepRatioOursOverPyTorch { get; init; } = double.NaN;
}
