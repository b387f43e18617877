namespace PhasedDmd.Training;

/// <summary>Progress of a long job: done of total units, and a short status line.</summary>
public readonly record struct JobProgress(long Done, long Total, string Status);
