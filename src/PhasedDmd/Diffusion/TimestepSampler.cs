using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

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
