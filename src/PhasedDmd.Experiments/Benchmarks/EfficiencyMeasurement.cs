namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>The DiT teacher training step against the float32 matmul peak of the same process.</summary>
public sealed record EfficiencyMeasurement(
    int Threads, int Batch, double StepFlops, double MedianStepSeconds, double AchievedGflopPerSecond,
    double PeakGflopPerSecond, double FractionOfPeak, double ForwardSeconds, double BackwardSeconds, double OptimizerSeconds,
    IReadOnlyList<MatmulRate> ModelShapes, IReadOnlyList<ForwardPart> ForwardProfile, double ForwardNoGradSeconds);
