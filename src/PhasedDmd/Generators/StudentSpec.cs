namespace PhasedDmd.Generators;

/// <summary>What a student is, beside its teacher's architecture: saved in its model card.</summary>
public sealed record StudentSpec(
    PhaseLayout Layout,
    ExpertKind Experts = ExpertKind.Full,
    int LoraRank = 16,
    double LoraAlpha = 16,
    RolloutSolver Solver = RolloutSolver.Euler,
    string Method = "phased");
