using PhasedDmd.Distillation;

namespace PhasedDmd.Experiments;

/// <summary>One row of the comparison: a named distillation setting (null for the teacher itself).</summary>
public sealed record ComparisonEntry(string Name, DistillConfig? Config);
