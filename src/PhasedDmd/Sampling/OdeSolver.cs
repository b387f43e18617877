namespace PhasedDmd.Sampling;

/// <summary>Probability-flow ODE solvers on a timestep grid from t = 1 to t = 0.</summary>
public enum OdeSolver
{
    Euler,
    /// <summary>Euler plus a trapezoidal correction (2nd order, 2 evaluations per step).</summary>
    Heun,
    /// <summary>DDIM (η = 0): x_{t'} = α_{t'} x̂_0 + σ_{t'} ε̂ — Euler on flow matching; the sampler of discrete VP teachers.</summary>
    Ddim,
}
