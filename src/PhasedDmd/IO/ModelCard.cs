using PhasedDmd.Models;

namespace PhasedDmd.IO;

/// <summary>
/// <c>model.json</c> of a model directory: everything needed to rebuild the network(s)
/// and to evaluate them against their task.
/// </summary>
public sealed record ModelCard
{
    public string Format { get; init; } = "phased-dmd-model";
    public int Version { get; init; } = 1;
    public string Role { get; init; } = "teacher";
    public string Schedule { get; init; } = "flow";
    public required TaskSpec Task { get; init; }
    public required ModelSpec Network { get; init; }
    public SamplingDefaults Sampling { get; init; } = new();
    /// <summary>Present for students (role "student"): phases, experts and rollout solver.</summary>
    public Generators.StudentSpec? Student { get; init; }
}
