namespace PhasedDmd.Distillation;

/// <summary>Where the gradient-recorded step(s) of a phase are (method.md §4.2).</summary>
public enum Truncation
{
    /// <summary>Stochastic gradient truncation inside the phase: draw the exit step, earlier steps without gradient, the exit step jumps to the boundary.</summary>
    Sgts,
    /// <summary>Backpropagate through every step of the phase (vanilla few-step DMD when there is one phase).</summary>
    Full,
}
