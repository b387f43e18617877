using PhasedDmd.Models;
using TorchSharp;

namespace PhasedDmd.Generators;

/// <summary>What a student is, beside its teacher's architecture: saved in its model card.</summary>
/// <param name="LoraTargets">A regex over module paths choosing the linear layers that get adapters; null: the layers the network marks as adaptable (ignored for a network that declares its own adapters).</param>
public sealed record StudentSpec(
    PhaseLayout Layout,
    ExpertKind Experts = ExpertKind.Full,
    int LoraRank = 16,
    double LoraAlpha = 16,
    RolloutSolver Solver = RolloutSolver.Euler,
    string Method = "phased",
    string? LoraTargets = null)
{
    /// <summary>Freezes <paramref name="network"/> and gives it this student's adapters.</summary>
    public LoraAdapters AttachTo(VelocityModel network, torch.Generator? rng) => LoraAdapters.Attach(network, LoraRank, LoraAlpha, LoraTargets, rng);
}
