namespace PhasedDmd.Sampling;

/// <summary>Sampling options of a model directory; null fields fall back to the model card.</summary>
public sealed record SampleOptions(int N = 2000, int? Steps = null, string? Solver = null, double? Cfg = null, int Seed = 0, string Device = "cpu");
