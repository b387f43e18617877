using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

/// <summary>
/// What a network outputs at x_t (method.md §1, §4.5). Each kind is a linear view
/// f = a_t x_0 + b_t ε of the pair (x_0, ε) that x_t = α_t x_0 + σ_t ε hides.
/// </summary>
public enum Prediction
{
    /// <summary>The probability-flow velocity α'_t x_0 + σ'_t ε (flow matching: ε − x_0).</summary>
    Velocity,
    /// <summary>The clean sample x_0 (EDM-style models, diffusers' <c>sample</c>).</summary>
    X0,
    /// <summary>The noise ε (DDPM, Stable Diffusion 1.x / 2.x, SDXL).</summary>
    Epsilon,
    /// <summary>diffusers' <c>v_prediction</c>: α_t ε − σ_t x_0 (Salimans and Ho 2022).</summary>
    VPrediction,
}

/// <summary>
/// The one home of the conversions between a network's own prediction and x̂_0, ε̂ and the velocity
/// (method.md §4.5, Eq. 4.5a): with f = a x_0 + b ε and x_t = α x_0 + σ ε, the 2×2 system has
/// determinant Δ = α b − σ a, and x̂_0 = (b x_t − σ f) / Δ, ε̂ = (α f − a x_t) / Δ.
/// </summary>
public static class Predictions
{
    /// <summary>The names used in model cards, on the command line and in exports.</summary>
    public static string Name(Prediction p) => p switch
    {
        Prediction.Velocity => "velocity",
        Prediction.X0 => "x0",
        Prediction.Epsilon => "epsilon",
        _ => "v_prediction",
    };

    public static readonly string[] Names = [.. Enum.GetValues<Prediction>().Select(Name)];

    /// <summary>Parses a prediction name; an unknown one is an input error listing the names.</summary>
    public static Prediction Parse(string name)
    {
        foreach (var p in Enum.GetValues<Prediction>())
            if (Name(p) == name) return p;
        throw new InputException($"prediction: expected {string.Join(", ", Names)} (got '{name}')");
    }

    /// <summary>(a_t, b_t) of f = a_t x_0 + b_t ε.</summary>
    public static (Tensor A, Tensor B) Coefficients(NoiseSchedule s, Prediction p, Tensor t) => p switch
    {
        Prediction.Velocity => (s.AlphaDerivative(t), s.SigmaDerivative(t)),
        Prediction.X0 => (torch.ones_like(t), torch.zeros_like(t)),
        Prediction.Epsilon => (torch.zeros_like(t), torch.ones_like(t)),
        _ => (-s.Sigma(t), s.Alpha(t)),
    };

    /// <summary>
    /// The time at which a prediction of this kind is read and converted to the other views (method.md §4.5): x_0 does not
    /// determine the velocity where σ = 0 (read at t ≥ 10⁻⁴); ε does not determine x_0 where α = 0, and near there
    /// x̂_0 = (x_t − σ ε̂)/α multiplies every error of ε̂ — and every step an expert's training takes — by σ/α, so it is
    /// read no nearer zero SNR than σ/α = <see cref="NoiseRatioLimit"/> (t ≤ 15/16 on flow matching).
    /// Velocity and v-prediction are determined everywhere.
    /// </summary>
    public static Tensor SafeTime(NoiseSchedule s, Prediction p, Tensor t) => p switch
    {
        Prediction.X0 => t.clamp_min(1e-4),
        Prediction.Epsilon => t.clamp(1e-4, EpsilonLimit(s)),
        _ => t,
    };

    /// <summary>The ratio σ/α beyond which an ε prediction is not read: Stable Diffusion's last timestep has σ/α = √(0.9953/0.0047) ≈ 14.6.</summary>
    public const double NoiseRatioLimit = 15;

    /// <summary>The latest time with σ_t ≤ 15 α_t (1 if the schedule never passes it).</summary>
    public static double EpsilonLimit(NoiseSchedule s) => Limits.GetOrAdd(s.Name, _ => Bisect(t => s.Sigma(t) <= NoiseRatioLimit * s.Alpha(t), 1.0));

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, double> Limits = new();

    /// <summary>Where <paramref name="ok"/> (true at the other end) stops holding towards <paramref name="end"/>; the end itself if it holds there.</summary>
    private static double Bisect(Func<double, bool> ok, double end)
    {
        if (ok(end)) return end;
        double good = 1 - end, bad = end;
        for (var i = 0; i < 60; i++)
        {
            var mid = (good + bad) / 2;
            if (ok(mid)) good = mid; else bad = mid;
        }
        return good;
    }

    /// <summary>x̂_0 = (b x_t − σ f) / Δ (Eq. 4.5a); t broadcasts against x and is already a <see cref="SafeTime"/>.</summary>
    public static Tensor ToX0(NoiseSchedule s, Prediction p, Tensor xt, Tensor f, Tensor t) => p switch
    {
        Prediction.Velocity => Parameterization.VelocityToX0(s, xt, f, t),
        Prediction.X0 => f,
        Prediction.Epsilon => (xt - s.Sigma(t) * f) / s.Alpha(t),
        _ => Solve(s, p, xt, f, t).X0,
    };

    /// <summary>ε̂ = (α f − a x_t) / Δ (Eq. 4.5a).</summary>
    public static Tensor ToEpsilon(NoiseSchedule s, Prediction p, Tensor xt, Tensor f, Tensor t) => p switch
    {
        Prediction.Velocity => Parameterization.VelocityToEpsilon(s, xt, f, t),
        Prediction.X0 => (xt - s.Alpha(t) * f) / s.Sigma(t),
        Prediction.Epsilon => f,
        _ => Solve(s, p, xt, f, t).Epsilon,
    };

    /// <summary>The velocity α' x̂_0 + σ' ε̂ (the conversions of <see cref="Parameterization"/> for x_0 and ε).</summary>
    public static Tensor ToVelocity(NoiseSchedule s, Prediction p, Tensor xt, Tensor f, Tensor t) => p switch
    {
        Prediction.Velocity => f,
        Prediction.X0 => Parameterization.X0ToVelocity(s, xt, f, t),
        Prediction.Epsilon => Parameterization.EpsilonToVelocity(s, xt, f, t),
        _ => SolvedVelocity(s, p, xt, f, t),
    };

    /// <summary>
    /// dψ/df = D/Δ (method.md Eq. 4.5a): how much the velocity moves per unit of the prediction at (x_t, t) — D/(−σ) for x_0,
    /// D/α for ε (D = α σ' − σ α', 1 on flow matching). Squared, it is the weight that makes a squared error of the
    /// prediction equal to the squared error of the velocity it stands for.
    /// </summary>
    public static Tensor VelocityGain(NoiseSchedule s, Prediction p, Tensor t)
    {
        var (a, b) = Coefficients(s, p, t);
        var alpha = s.Alpha(t);
        var sigma = s.Sigma(t);
        return (alpha * s.SigmaDerivative(t) - sigma * s.AlphaDerivative(t)) / (alpha * b - sigma * a);
    }

    /// <summary>The prediction's regression target a x_0 + b ε (the ordinary, full-interval one).</summary>
    public static Tensor Target(NoiseSchedule s, Prediction p, Tensor x0, Tensor eps, Tensor t)
    {
        var (a, b) = Coefficients(s, p, t);
        return a * x0 + b * eps;
    }

    private static Tensor SolvedVelocity(NoiseSchedule s, Prediction p, Tensor xt, Tensor f, Tensor t)
    {
        var (x0, eps) = Solve(s, p, xt, f, t);
        return Parameterization.VelocityTarget(s, x0, eps, t);
    }

    private static (Tensor X0, Tensor Epsilon) Solve(NoiseSchedule s, Prediction p, Tensor xt, Tensor f, Tensor t)
    {
        var (a, b) = Coefficients(s, p, t);
        var alpha = s.Alpha(t);
        var sigma = s.Sigma(t);
        var det = alpha * b - sigma * a;
        return ((b * xt - sigma * f) / det, (alpha * f - a * xt) / det);
    }
}
