using TorchSharp;
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

/// <summary>
/// Draws training times: u ~ U(lo_u, hi_u) in the unshifted range, then t = shift(u)
/// (the authors' stated practice). The interval is given in shifted (real) time and may
/// be narrowed by a margin at its lower end, away from a boundary s.
/// </summary>
public sealed record TimestepSampler(double Lower = 0.0, double Upper = 1.0, double Shift = 1.0, double Margin = 0.0)
{
    public static TimestepSampler Full(double shift = 1.0, double tMin = 1e-3, double tMax = 1.0)
        => new(tMin, tMax, shift);

    /// <summary>The effective interval in real time: [Lower + Margin, Upper].</summary>
    public (double Lo, double Hi) Interval
    {
        get
        {
            var lo = Lower + Margin;
            if (!(lo < Upper))
                throw new ArgumentException($"empty timestep interval: [{Lower} + margin {Margin}, {Upper}]");
            return (lo, Upper);
        }
    }

    /// <summary>Samples a [n] tensor of times on the given device.</summary>
    public Tensor Sample(long n, Generator? generator = null, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        var (lo, hi) = Interval;
        var ulo = Timesteps.Unshift(lo, Shift);
        var uhi = Timesteps.Unshift(hi, Shift);
        var u = torch.rand(n, dtype: ScalarType.Float64, generator: generator) * (uhi - ulo) + ulo;
        return Timesteps.Shift(u, Shift).to(dtype).to(device ?? CPU);
    }
}

/// <summary>Classifier-free guidance: v_cfg = v(x, t, ∅) + w (v(x, t, c) − v(x, t, ∅)).</summary>
public static class Guidance
{
    public static Tensor Combine(Tensor unconditional, Tensor conditional, double scale)
        => unconditional + scale * (conditional - unconditional);
}
