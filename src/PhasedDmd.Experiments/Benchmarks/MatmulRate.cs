namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>A matrix product's shape and the rate the process achieved on it.</summary>
public sealed record MatmulRate(string Shape, long M, long K, long N, double GflopPerSecond);
