namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>
/// Generator updates of one configuration at one global batch, on <see cref="Ranks"/> data-parallel
/// processes of <see cref="ThreadsPerRank"/> threads each (measured on rank 0).
/// </summary>
public sealed record ParallelMeasurement(
    string Model, string Case, int Ranks, int ThreadsPerRank, int GlobalBatch, int TimedUpdates,
    double MedianSeconds, double UpdatesPerSecond, double AllreduceShare, string Transport);
