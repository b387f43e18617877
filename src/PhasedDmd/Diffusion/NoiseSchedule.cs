using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

/// <summary>
/// A forward process <c>x_t = α_t x_0 + σ_t ε</c> on t ∈ [0, 1] (method.md §1).
/// Nothing downstream assumes α + σ = 1: every method works through this interface.
/// The model output is the probability-flow velocity <c>v = α'_t x_0 + σ'_t ε</c>
/// (for flow matching, <c>ε − x_0</c>).
/// </summary>
public abstract class NoiseSchedule
{
    public abstract string Name { get; }

    public abstract double Alpha(double t);
    public abstract double Sigma(double t);
    public abstract double AlphaDerivative(double t);
    public abstract double SigmaDerivative(double t);

    public abstract Tensor Alpha(Tensor t);
    public abstract Tensor Sigma(Tensor t);
    public abstract Tensor AlphaDerivative(Tensor t);
    public abstract Tensor SigmaDerivative(Tensor t);

    /// <summary>SNR(t) = α_t² / σ_t², strictly decreasing in t.</summary>
    public double Snr(double t) => Alpha(t) * Alpha(t) / (Sigma(t) * Sigma(t));

    /// <summary>α_{t|s} = α_t / α_s (method.md §1, transition from s to t &gt; s).</summary>
    public double TransitionAlpha(double t, double s) => Alpha(t) / Alpha(s);

    /// <summary>σ_{t|s} = sqrt(σ_t² − α_{t|s}² σ_s²).</summary>
    public double TransitionSigma(double t, double s)
    {
        var a = TransitionAlpha(t, s);
        var v = Sigma(t) * Sigma(t) - a * a * Sigma(s) * Sigma(s);
        return Math.Sqrt(Math.Max(v, 0.0));
    }

    public Tensor TransitionAlpha(Tensor t, Tensor s) => Alpha(t) / Alpha(s);

    public Tensor TransitionSigma(Tensor t, Tensor s)
    {
        var a = TransitionAlpha(t, s);
        var ss = Sigma(s);
        var st = Sigma(t);
        return (st * st - a * a * ss * ss).clamp_min(0.0).sqrt();
    }

    /// <summary>
    /// The time a network trained on this schedule is fed for noise level t, given the time scale it was
    /// trained with (t·scale: 1000 for the common timesteps = σ·1000).
    /// </summary>
    public virtual Tensor NetworkTime(Tensor t, double scale) => t * scale;

    public static NoiseSchedule FromName(string name) => name switch
    {
        "flow" or "flow-matching" or "rectified-flow" => FlowMatchingSchedule.Instance,
        "vp-cosine" or "cosine" => CosineVpSchedule.Instance,
        _ => DiscreteVpSchedule.TryParse(name)
             ?? throw new ArgumentException($"unknown schedule '{name}' (expected flow, vp-cosine or vp-discrete:BETA_SCHEDULE:BETA_START:BETA_END:T)"),
    };
}
