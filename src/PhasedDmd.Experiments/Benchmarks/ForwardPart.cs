namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>One kind of work in the DiT forward pass, timed alone at the model's shapes (all blocks).</summary>
public sealed record ForwardPart(string Part, double Seconds, double Flops);
