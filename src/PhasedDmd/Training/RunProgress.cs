namespace PhasedDmd.Training;

/// <summary>Where a run is: saved in every checkpoint as progress.json (with the number of ranks that wrote it; 1 in older checkpoints).</summary>
public sealed record RunProgress(int Phase, int Iteration, long Done, string ConfigHash, double Seconds, long SkippedUpdates, int WorldSize = 1);
