using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

/// <summary>Timestep shift and grids (method.md §1).</summary>
public static class Timesteps
{
    /// <summary>t' = k t / (1 + (k − 1) t): Wan uses k = 5, Qwen-Image k = 3.</summary>
    public static double Shift(double t, double k) => k * t / (1.0 + (k - 1.0) * t);

    public static Tensor Shift(Tensor t, double k) => t * k / ((k - 1.0) * t + 1.0);

    /// <summary>Inverse of <see cref="Shift(double,double)"/>: u = t / (k − (k − 1) t).</summary>
    public static double Unshift(double t, double k) => t / (k - (k - 1.0) * t);

    /// <summary>
    /// N+1 times 1 = t_0 &gt; t_1 &gt; … &gt; t_N = 0, uniform in the unshifted variable then shifted.
    /// </summary>
    public static double[] Grid(int steps, double shift = 1.0)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), "steps must be ≥ 1");
        var g = new double[steps + 1];
        for (var i = 0; i <= steps; i++)
            g[i] = Shift(1.0 - (double)i / steps, shift);
        g[0] = 1.0;
        g[steps] = 0.0;
        return g;
    }
}
