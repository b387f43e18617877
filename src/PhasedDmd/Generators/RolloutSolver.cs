namespace PhasedDmd.Generators;

/// <summary>How the student moves between its steps (method.md §4.2).</summary>
public enum RolloutSolver
{
    /// <summary>Deterministic Euler: x_{t'} = x_t + (t' − t) v (the paper's choice).</summary>
    Euler,
    /// <summary>Predict x̂_0, then re-noise to t' with fresh noise (DMD2 / Self-Forcing).</summary>
    Renoise,
    /// <summary>
    /// Deterministic DDIM: x_{t'} = α_{t'} x̂_0 + σ_{t'} ε̂ (method.md §4.5). The same step as Euler on flow
    /// matching; on variance-preserving schedules the first-order step that stays on the schedule.
    /// </summary>
    Ddim,
}
