using PhasedDmd.Diffusion;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// The distribution-matching (reverse-KL) generator gradient, as pure functions
/// (method.md §2, §4.2). Time tensors broadcast against x.
/// </summary>
public static class DistributionMatching
{
    /// <summary>
    /// The analytic weight of phase k: w_{t|s} = α_t α_{t|s} / (D σ_t) with D = α σ' − σ α'
    /// (D = 1 for flow matching, where it is the paper's α_t α_{t|s} / (α_t σ_t + σ_t²) = (1−t)² / ((1−s) t)).
    /// With s = 0 it is DMD's α_t² / (α_t σ_t + σ_t²).
    /// </summary>
    public static Tensor AnalyticWeight(NoiseSchedule schedule, Tensor t, Tensor s)
    {
        var a = schedule.Alpha(t);
        var sg = schedule.Sigma(t);
        var det = a * schedule.SigmaDerivative(t) - sg * schedule.AlphaDerivative(t);
        return a * schedule.TransitionAlpha(t, s) / (det * sg);
    }

    /// <summary>
    /// g = w_{t|s} (T(x_t, t) − F(x_t, t)) on velocities: the gradient of the reverse KL with
    /// respect to the boundary sample x_s, i.e. α_{t|s} (score_F − score_T).
    /// </summary>
    public static Tensor AnalyticGradient(NoiseSchedule schedule, Tensor teacherVelocity, Tensor fakeVelocity, Tensor t, Tensor s)
        => AnalyticWeight(schedule, t, s) * (teacherVelocity - fakeVelocity);

    /// <summary>
    /// The same gradient read from x̂_0 predictions (method.md §4.5, Eq. 4.5d): α_{t|s} (score_F − score_T) with
    /// score = (α_t x̂_0 − x_t)/σ_t², i.e. α_{t|s} α_t (x̂_0^F − x̂_0^T) / σ_t². It does not depend on what the networks predict.
    /// </summary>
    public static Tensor AnalyticGradientFromX0(NoiseSchedule schedule, Tensor teacherX0, Tensor fakeX0, Tensor t, Tensor s)
    {
        var sg = schedule.Sigma(t);
        return schedule.TransitionAlpha(t, s) * schedule.Alpha(t) / (sg * sg) * (fakeX0 - teacherX0);
    }

    /// <summary>
    /// DMD2 normaliser in x_0 space: g = (x̂_0^F − x̂_0^T) / max(mean_per_sample |x̂_0^student − x̂_0^T|, floor),
    /// with non-finite entries set to zero. Returns g and the per-sample normaliser [B].
    /// </summary>
    public static (Tensor Gradient, Tensor Normalizer) NormalizedGradient(Tensor studentX0, Tensor teacherX0, Tensor fakeX0, double floor = 1e-4)
    {
        var b = studentX0.shape[0];
        var normalizer = (studentX0 - teacherX0).abs().reshape(b, -1).mean([1]).clamp_min(floor);
        var g = (fakeX0 - teacherX0) / ProbabilityFlow.PerSample(normalizer, studentX0);
        return (g.nan_to_num(0.0, 0.0, 0.0), normalizer);
    }

    /// <summary>
    /// The surrogate L = ½ ‖x − sg(x − g)‖², summed over data dimensions and averaged over
    /// the batch, so that per sample ∂L/∂x = g / B (exactly g for one sample).
    /// </summary>
    public static Tensor SurrogateLoss(Tensor x, Tensor gradient)
    {
        var target = (x - gradient).detach();
        return 0.5 * (x - target).square().reshape(x.shape[0], -1).sum(dim: 1).mean();
    }
}
