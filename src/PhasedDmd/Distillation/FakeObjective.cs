namespace PhasedDmd.Distillation;

/// <summary>The fake score's training objective (method.md §4.3).</summary>
public enum FakeObjective
{
    /// <summary>Score matching within the subinterval, stable form (Eq. 13).</summary>
    Subinterval,
    /// <summary>Pretend x_s is clean data: ‖ψ − (ε' − x_s)‖² (biased; ablation).</summary>
    Naive,
}
