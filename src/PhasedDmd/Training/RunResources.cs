namespace PhasedDmd.Training;

/// <summary>What a distillation run cost: written as resources.json beside the student.</summary>
public sealed record RunResources(double WallSeconds, long GeneratorUpdates, double SecondsPerGeneratorUpdate, double PeakRssMiB, int Threads);
