namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>Resident memory sampled along a long distillation: flat if nothing leaks.</summary>
public sealed record MemoryGrowthMeasurement(string Model, string Case, int Updates, int Threads, IReadOnlyList<long> AtUpdate, IReadOnlyList<double> RssMiB,
                                             IReadOnlyList<long> LiveTensors)
{
    /// <summary>Resident memory after the first tenth of the run (allocator warm-up done).</summary>
    public double StartMiB => RssMiB[Math.Min(RssMiB.Count - 1, RssMiB.Count / 10)];
    public double EndMiB => RssMiB[^1];
    /// <summary>Least-squares growth over the second half of the run, MiB per 1000 updates.</summary>
    public double SlopeMiBPer1000 => 1000 * Stats.Slope(
        AtUpdate.Skip(AtUpdate.Count / 2).Select(v => (double)v).ToList(), RssMiB.Skip(RssMiB.Count / 2).ToList());
}
