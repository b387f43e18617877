namespace PhasedDmd.Training;

/// <summary>Where a run is: saved in every checkpoint as progress.json.</summary>
public sealed record RunProgress(int Phase, int Iteration, long Done, string ConfigHash, double Seconds, long SkippedUpdates);
