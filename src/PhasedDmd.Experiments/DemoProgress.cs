using PhasedDmd.Training;

namespace PhasedDmd.Experiments;

/// <summary>Progress of the demo: which part (of how many) and how far that part is.</summary>
public readonly record struct DemoProgress(int Part, int Parts, string Name, JobProgress Inner);
