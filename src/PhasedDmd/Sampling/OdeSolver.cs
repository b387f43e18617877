namespace PhasedDmd.Sampling;

/// <summary>Probability-flow ODE solvers on a timestep grid from t = 1 to t = 0.</summary>
public enum OdeSolver { Euler, Heun }
