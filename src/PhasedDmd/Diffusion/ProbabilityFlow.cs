using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

/// <summary>The probability-flow ODE dx/dt = v(x_t, t) (method.md §1) and the shape helper its formulas share.</summary>
public static class ProbabilityFlow
{
    /// <summary>One Euler step of dx/dt = v: x_{t'} = x_t + (t' − t) v (method.md §3).</summary>
    public static Tensor EulerStep(Tensor x, Tensor v, double t, double tNext) => x + (tNext - t) * v;

    /// <summary>
    /// One DDIM step (Song et al. 2021, Eq. 12 with η = 0): x_{t'} = α_{t'} x̂_0 + σ_{t'} ε̂, keeping the predicted
    /// (x̂_0, ε̂). For flow matching it equals the Euler step; on VP schedules it is exact for a constant x̂_0.
    /// </summary>
    public static Tensor DdimStep(NoiseSchedule schedule, Tensor x0, Tensor eps, double tNext)
        => tNext == 0.0 ? x0.alias() : schedule.Alpha(tNext) * x0 + schedule.Sigma(tNext) * eps;

    /// <summary>
    /// A per-sample tensor [B] (times, masks, normalisers) reshaped to [B, 1, …, 1] with the rank of
    /// <paramref name="like"/>, so that it broadcasts against a batch of samples.
    /// </summary>
    public static Tensor PerSample(Tensor values, Tensor like) => PerSample(values, like.dim());

    /// <inheritdoc cref="PerSample(Tensor, Tensor)"/>
    public static Tensor PerSample(Tensor values, long rank)
        => values.reshape([values.shape[0], .. Enumerable.Repeat(1L, (int)rank - 1)]);
}
