namespace PhasedDmd.Experiments;

public sealed record Toy1dResult(Dictionary<string, TrajectoryError> Models, double Boundary, int Trajectories, int EulerSteps, double Seconds);
