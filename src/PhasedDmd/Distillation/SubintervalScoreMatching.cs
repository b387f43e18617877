using TorchSharp;
using PhasedDmd.Diffusion;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// Score matching within a subinterval (method.md §4.3): the fake score of phase k never
/// sees clean data, only boundary samples x_s, and is trained for t ∈ (s, 1] on
/// x_t = α_{t|s} x_s + σ_{t|s} ε'. Pure functions; t and s broadcast against x
/// (shape [B, 1, ...] or scalars as tensors).
/// </summary>
public static class SubintervalScoreMatching
{
    /// <summary>Forward kernel from a boundary sample: x_t = α_{t|s} x_s + σ_{t|s} ε' (method.md §1).</summary>
    public static Tensor ForwardKernel(NoiseSchedule schedule, Tensor xs, Tensor epsPrime, Tensor t, Tensor s)
        => schedule.TransitionAlpha(t, s) * xs + schedule.TransitionSigma(t, s) * epsPrime;

    /// <summary>
    /// The unbiased ε-target (σ_t / σ_{t|s}) ε', because ∇ log p(x_t) = E[−ε'/σ_{t|s} | x_t].
    /// </summary>
    public static Tensor EpsilonTarget(NoiseSchedule schedule, Tensor epsPrime, Tensor t, Tensor s)
        => schedule.Sigma(t) / schedule.TransitionSigma(t, s) * epsPrime;

    /// <summary>
    /// x_0 target, Eq. 12: μ_target = x_s/α_s − (α_t σ_s² / (α_s² σ_{t|s})) ε'.
    /// (Any schedule: it is (x_t − σ_t ε_target)/α_t.)
    /// </summary>
    public static Tensor X0Target(NoiseSchedule schedule, Tensor xs, Tensor epsPrime, Tensor t, Tensor s)
    {
        var aS = schedule.Alpha(s);
        var sS = schedule.Sigma(s);
        return xs / aS - schedule.Alpha(t) * sS * sS / (aS * aS * schedule.TransitionSigma(t, s)) * epsPrime;
    }

    /// <summary>
    /// Velocity target, Eq. 11 generalised: ψ_target = α'_t μ_target + σ'_t ε_target.
    /// For flow matching this is ((α_s² σ_t + α_t σ_s²)/(α_s² σ_{t|s})) ε' − x_s/α_s.
    /// </summary>
    public static Tensor VelocityTarget(NoiseSchedule schedule, Tensor xs, Tensor epsPrime, Tensor t, Tensor s)
        => schedule.AlphaDerivative(t) * X0Target(schedule, xs, epsPrime, t, s)
           + schedule.SigmaDerivative(t) * EpsilonTarget(schedule, epsPrime, t, s);

    /// <summary>
    /// σ_{t|s} · ψ_target without dividing by σ_{t|s} (finite as t → s): the bracket of Eq. 13,
    /// α'_t (σ_{t|s} x_s/α_s − α_t σ_s² ε'/α_s²) + σ'_t σ_t ε'. For flow matching it is
    /// ((α_s² σ_t + α_t σ_s²)/α_s²) ε' − (σ_{t|s}/α_s) x_s.
    /// </summary>
    public static Tensor ScaledVelocityTarget(NoiseSchedule schedule, Tensor xs, Tensor epsPrime, Tensor t, Tensor s)
    {
        var aS = schedule.Alpha(s);
        var sS = schedule.Sigma(s);
        var sigmaTs = schedule.TransitionSigma(t, s);
        var scaledX0 = sigmaTs * xs / aS - schedule.Alpha(t) * sS * sS / (aS * aS) * epsPrime;
        return schedule.AlphaDerivative(t) * scaledX0 + schedule.SigmaDerivative(t) * schedule.Sigma(t) * epsPrime;
    }

    /// <summary>
    /// The stable loss, Eq. 13: clamp(1/σ²_{t|s}, 0, clampMax) · ‖σ_{t|s} ψ(x_t, t) − σ_{t|s} ψ_target‖²,
    /// per sample (summed over data dimensions, shape [B]). With clampMax = 10 this equals
    /// min(1, 10 σ²_{t|s}) · ‖ψ − ψ_target‖². Note the residual's x_s term enters with a plus sign.
    /// </summary>
    public static Tensor StableLoss(NoiseSchedule schedule, Tensor prediction, Tensor xs, Tensor epsPrime, Tensor t, Tensor s, double clampMax = 10.0)
    {
        var sigmaTs = schedule.TransitionSigma(t, s);
        var residual = sigmaTs * prediction - ScaledVelocityTarget(schedule, xs, epsPrime, t, s);
        var weight = (1.0 / sigmaTs.square()).clamp(0.0, clampMax);
        return PerSample(weight * residual.square());
    }

    /// <summary>
    /// σ_{t|s} times the subinterval target of a network predicting f = a x_0 + b ε (method.md §4.5, Eq. 4.5b):
    /// a (σ_{t|s} μ_target) + b σ_t ε', finite as t → s. For a velocity network it is <see cref="ScaledVelocityTarget"/>.
    /// </summary>
    public static Tensor ScaledTarget(NoiseSchedule schedule, Prediction prediction, Tensor xs, Tensor epsPrime, Tensor t, Tensor s)
    {
        if (prediction == Prediction.Velocity) return ScaledVelocityTarget(schedule, xs, epsPrime, t, s);
        var aS = schedule.Alpha(s);
        var sS = schedule.Sigma(s);
        var scaledX0 = schedule.TransitionSigma(t, s) * xs / aS - schedule.Alpha(t) * sS * sS / (aS * aS) * epsPrime;
        var (a, b) = Predictions.Coefficients(schedule, prediction, t);
        return a * scaledX0 + b * schedule.Sigma(t) * epsPrime;
    }

    /// <summary>
    /// Eq. 13 computed in the network's own prediction (method.md §4.5, Eq. 4.5c): the residual σ_{t|s} f − σ_{t|s} f_target
    /// of the prediction itself, weighted by clamp(1/σ²_{t|s}, 0, clampMax) · (D/Δ)², so that it equals Eq. 13 — the
    /// velocity's residual — without converting an x_0 or ε output to a velocity (a division by σ or α). D/Δ is taken
    /// at the time the prediction is read (<see cref="Predictions.SafeTime"/>); ε networks are not weighted. For a velocity network it is
    /// <see cref="StableLoss(NoiseSchedule, Tensor, Tensor, Tensor, Tensor, Tensor, double)"/>.
    /// </summary>
    public static Tensor StableLoss(NoiseSchedule schedule, Prediction kind, Tensor prediction, Tensor xs, Tensor epsPrime, Tensor t, Tensor s, double clampMax = 10.0)
    {
        if (kind == Prediction.Velocity) return StableLoss(schedule, prediction, xs, epsPrime, t, s, clampMax);
        var sigmaTs = schedule.TransitionSigma(t, s);
        var residual = sigmaTs * prediction - ScaledTarget(schedule, kind, xs, epsPrime, t, s);
        var weight = (1.0 / sigmaTs.square()).clamp(0.0, clampMax) * VelocityWeight(schedule, kind, t);
        return PerSample(weight * residual.square());
    }

    /// <summary>
    /// (D/Δ)², the weight that makes a squared error of the prediction the squared error of the velocity (Eq. 13's value),
    /// taken where the prediction is read — except for ε networks, left unweighted: their (D/α)² piles the fake score's
    /// effort on the near-zero-SNR end where ε says least (measured, method.md §4.5).
    /// </summary>
    private static Tensor VelocityWeight(NoiseSchedule schedule, Prediction kind, Tensor t)
        => kind == Prediction.Epsilon ? torch.ones_like(t) : Predictions.VelocityGain(schedule, kind, Predictions.SafeTime(schedule, kind, t)).square();

    /// <summary>The naive loss in the network's own prediction: the ordinary target a x_s + b ε' (x_s taken for clean data), weighted as the stable loss.</summary>
    public static Tensor NaiveLoss(NoiseSchedule schedule, Prediction kind, Tensor prediction, Tensor xs, Tensor epsPrime, Tensor t)
        => kind == Prediction.Velocity
            ? NaiveLoss(schedule, prediction, xs, epsPrime, t)
            : PerSample(VelocityWeight(schedule, kind, t) * (prediction - Predictions.Target(schedule, kind, xs, epsPrime, t)).square());

    /// <summary>The unweighted loss ‖ψ − ψ_target‖² per sample (explodes as t → s; for reference and tests).</summary>
    public static Tensor RawLoss(NoiseSchedule schedule, Tensor prediction, Tensor xs, Tensor epsPrime, Tensor t, Tensor s)
        => PerSample((prediction - VelocityTarget(schedule, xs, epsPrime, t, s)).square());

    /// <summary>
    /// The naive (biased) target of the ablation: pretend x_s is clean data, i.e. the ordinary
    /// velocity target α'_t x_s + σ'_t ε' (flow matching: ε' − x_s).
    /// </summary>
    public static Tensor NaiveTarget(NoiseSchedule schedule, Tensor xs, Tensor epsPrime, Tensor t)
        => Parameterization.VelocityTarget(schedule, xs, epsPrime, t);

    public static Tensor NaiveLoss(NoiseSchedule schedule, Tensor prediction, Tensor xs, Tensor epsPrime, Tensor t)
        => PerSample((prediction - NaiveTarget(schedule, xs, epsPrime, t)).square());

    private static Tensor PerSample(Tensor x) => x.reshape(x.shape[0], -1).sum(dim: 1);
}
