namespace PhasedDmd.Experiments;

/// <summary>Deviation of a model's trajectories from the exact ones (mean absolute, over trajectories).</summary>
public sealed record TrajectoryError(double AtBoundary, double AlongPath);
