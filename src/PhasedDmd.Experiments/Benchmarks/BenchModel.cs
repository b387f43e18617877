namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>The networks the benchmark measures: the analytic tasks' MLP and the miniature DiT of glyphs.</summary>
public enum BenchModel { Mlp, Dit }
