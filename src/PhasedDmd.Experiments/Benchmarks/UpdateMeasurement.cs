namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>Time and resident memory of generator updates of one configuration, measured in one (fresh) process.</summary>
public sealed record UpdateMeasurement(
    string Model, string Case, string Method, int Steps, int Phases, int Batch, int FakeUpdates, int Threads,
    int TimedUpdates, double MedianSeconds, double BaselineRssMiB, double PeakRssMiB, bool PeakMeasuredFromBaseline)
{
    /// <summary>Peak resident memory above the resident memory just before the first update.</summary>
    public double UpdatePeakMiB => PeakRssMiB - BaselineRssMiB;
}
