namespace PhasedDmd.Training;

/// <summary>What a training run (teacher training or distillation) cost: written as resources.json beside the model.</summary>
public sealed record RunResources(double WallSeconds, long GeneratorUpdates, double SecondsPerGeneratorUpdate, double PeakRssMiB, int Threads);
