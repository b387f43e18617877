using System.Text.Json.Serialization;

namespace PhasedDmd.Distillation;

/// <summary>The re-noising interval of phase k's fake score and generator gradient (method.md §4.2).</summary>
public enum IntervalKind
{
    /// <summary>t ∈ (s, 1]: the paper's reverse-nested intervals (written <c>nested</c> in configs and on the command line).</summary>
    [JsonStringEnumMemberName("nested")]
    ReverseNested,
    /// <summary>t ∈ (s, t_{b(k−1)}]: TDM-style disjoint intervals (ablation).</summary>
    Disjoint,
}
