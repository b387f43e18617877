using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

/// <summary>
/// The one home of the linear conversions between the model's velocity and the other
/// views of x_t (method.md §1). With x_t = α x_0 + σ ε and v = α' x_0 + σ' ε the pair
/// (x_0, ε) solves a 2×2 system of determinant D = α σ' − σ α'
/// (for flow matching D = 1, giving x̂_0 = x_t − t v and ε̂ = x_t + (1 − t) v).
/// Time tensors broadcast against x (shape [B, 1, ...] or a scalar).
/// </summary>
public static class Parameterization
{
    /// <summary>x̂_0 = (σ' x_t − σ v) / D.</summary>
    public static Tensor VelocityToX0(NoiseSchedule s, Tensor xt, Tensor v, Tensor t)
    {
        var (a, sg, da, ds) = Coefficients(s, t);
        return (ds * xt - sg * v) / (a * ds - sg * da);
    }

    /// <summary>ε̂ = (α v − α' x_t) / D.</summary>
    public static Tensor VelocityToEpsilon(NoiseSchedule s, Tensor xt, Tensor v, Tensor t)
    {
        var (a, sg, da, ds) = Coefficients(s, t);
        return (a * v - da * xt) / (a * ds - sg * da);
    }

    /// <summary>v = α' x̂_0 + σ' ε̂ with ε̂ = (x_t − α x̂_0) / σ.</summary>
    public static Tensor X0ToVelocity(NoiseSchedule s, Tensor xt, Tensor x0, Tensor t)
    {
        var (a, sg, da, ds) = Coefficients(s, t);
        return da * x0 + ds * (xt - a * x0) / sg;
    }

    /// <summary>v = α' (x_t − σ ε̂)/α + σ' ε̂.</summary>
    public static Tensor EpsilonToVelocity(NoiseSchedule s, Tensor xt, Tensor eps, Tensor t)
    {
        var (a, sg, da, ds) = Coefficients(s, t);
        return da * (xt - sg * eps) / a + ds * eps;
    }

    /// <summary>Score ∇ log p_t(x_t) = (α x̂_0 − x_t) / σ² = −ε̂ / σ (any schedule).</summary>
    public static Tensor VelocityToScore(NoiseSchedule s, Tensor xt, Tensor v, Tensor t)
        => -VelocityToEpsilon(s, xt, v, t) / s.Sigma(t);

    /// <summary>The velocity regression target α' x_0 + σ' ε (flow matching: ε − x_0).</summary>
    public static Tensor VelocityTarget(NoiseSchedule s, Tensor x0, Tensor eps, Tensor t)
        => s.AlphaDerivative(t) * x0 + s.SigmaDerivative(t) * eps;

    /// <summary>The forward process x_t = α_t x_0 + σ_t ε.</summary>
    public static Tensor Noise(NoiseSchedule s, Tensor x0, Tensor eps, Tensor t)
        => s.Alpha(t) * x0 + s.Sigma(t) * eps;

    private static (Tensor a, Tensor sg, Tensor da, Tensor ds) Coefficients(NoiseSchedule s, Tensor t)
        => (s.Alpha(t), s.Sigma(t), s.AlphaDerivative(t), s.SigmaDerivative(t));
}
