namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>Memory and time ratios the performance issue sets targets on, per model.</summary>
public sealed record MemorySummary(string Model, double PhasedK2OverDmd, double PhasedK4OverDmd, double FewstepSlopeMiBPerStep, double FewstepN8OverN2);
