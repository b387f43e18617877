namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>The PyTorch reference's figures (benchmarks/pytorch_reference.py), or why it was skipped.</summary>
public sealed record PyTorchReference(
    bool Available, string? SkippedBecause = null, string? TorchVersion = null, string? Blas = null, int Threads = 0,
    double DmdUpdateSeconds = double.NaN, double TrainStepSeconds = double.NaN, string? Python = null, string? Environment = null);
