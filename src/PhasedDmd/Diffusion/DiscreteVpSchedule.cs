using System.Collections.Concurrent;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

/// <summary>
/// The discrete variance-preserving schedule of DDPM and Stable Diffusion (method.md §1.1): betas β_0 … β_{T−1},
/// ᾱ_j = Π_{i≤j} (1 − β_i), timestep j having x = √ᾱ_j x_0 + √(1 − ᾱ_j) ε. Continuous time t ∈ [0, 1] maps
/// to p = t·T on a table of log ᾱ with log ᾱ = 0 (clean data) at p = 0 and timestep j at p = j + 1,
/// linear in between (a constant β within each step), so t = 1 is the last training timestep T − 1,
/// whose SNR is not zero, and the network is fed the timestep p − 1 it was trained with.
/// α_t = exp(½ log ᾱ(p)), σ_t = √(1 − ᾱ(p)).
/// </summary>
public sealed class DiscreteVpSchedule : NoiseSchedule
{
    /// <summary>diffusers' beta_schedule values this schedule implements.</summary>
    public static readonly string[] BetaSchedules = ["linear", "scaled_linear", "squaredcos_cap_v2"];

    private static readonly ConcurrentDictionary<string, DiscreteVpSchedule> Cache = new();
    private readonly double[] _logAlphaBar;   // [T + 1], index p = timestep + 1
    private readonly Tensor _table;

    public string BetaSchedule { get; }
    public double BetaStart { get; }
    public double BetaEnd { get; }
    public int TrainTimesteps { get; }

    private DiscreteVpSchedule(string betaSchedule, double betaStart, double betaEnd, int trainTimesteps)
    {
        BetaSchedule = betaSchedule;
        BetaStart = betaStart;
        BetaEnd = betaEnd;
        TrainTimesteps = trainTimesteps;
        var betas = Betas(betaSchedule, betaStart, betaEnd, trainTimesteps);
        _logAlphaBar = new double[trainTimesteps + 1];
        for (var j = 0; j < trainTimesteps; j++) _logAlphaBar[j + 1] = _logAlphaBar[j] + Math.Log(1 - betas[j]);
        using (NewDisposeScope()) _table = torch.tensor(_logAlphaBar, dtype: ScalarType.Float64).DetachFromDisposeScope();
    }

    /// <summary>The schedule of these settings (one instance each); settings out of range are an input error.</summary>
    public static DiscreteVpSchedule Of(string betaSchedule, double betaStart, double betaEnd, int trainTimesteps)
    {
        if (!BetaSchedules.Contains(betaSchedule))
            throw new InputException($"beta_schedule: expected {string.Join(", ", BetaSchedules)} (got '{betaSchedule}')");
        if (trainTimesteps < 2) throw new InputException($"num_train_timesteps: must be ≥ 2 (got {trainTimesteps})");
        if (betaSchedule != "squaredcos_cap_v2" && !(betaStart > 0 && betaEnd >= betaStart && betaEnd < 1))
            throw new InputException($"beta_start, beta_end: need 0 < beta_start ≤ beta_end < 1 (got {betaStart}, {betaEnd})");
        var name = Describe(betaSchedule, betaStart, betaEnd, trainTimesteps);
        return Cache.GetOrAdd(name, _ => new DiscreteVpSchedule(betaSchedule, betaStart, betaEnd, trainTimesteps));
    }

    /// <summary>The name this schedule is saved under: <c>vp-discrete:BETA_SCHEDULE:BETA_START:BETA_END:T</c>.</summary>
    public override string Name => Describe(BetaSchedule, BetaStart, BetaEnd, TrainTimesteps);

    /// <summary>Parses a name written by <see cref="Name"/>; null when it is not one.</summary>
    public static DiscreteVpSchedule? TryParse(string name)
    {
        var parts = name.Split(':');
        if (parts.Length != 5 || parts[0] != "vp-discrete") return null;
        static double Number(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
        return Of(parts[1], Number(parts[2]), Number(parts[3]), int.Parse(parts[4], CultureInfo.InvariantCulture));
    }

    private static string Describe(string schedule, double start, double end, int t)
        => string.Create(CultureInfo.InvariantCulture, $"vp-discrete:{schedule}:{start:R}:{end:R}:{t}");

    /// <summary>diffusers' betas: linear, scaled_linear (linear in √β) or squaredcos_cap_v2 (Nichol and Dhariwal's cosine ᾱ, β ≤ 0.999).</summary>
    public static double[] Betas(string schedule, double start, double end, int n) => schedule switch
    {
        "linear" => [.. Enumerable.Range(0, n).Select(i => start + (end - start) * i / (n - 1))],
        "scaled_linear" => [.. Enumerable.Range(0, n).Select(i => Math.Pow(Math.Sqrt(start) + (Math.Sqrt(end) - Math.Sqrt(start)) * i / (n - 1), 2))],
        _ => [.. Enumerable.Range(0, n).Select(i => Math.Min(1 - CosineAlphaBar((i + 1.0) / n) / CosineAlphaBar((double)i / n), 0.999))],
    };

    private static double CosineAlphaBar(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);

    /// <summary>ᾱ of training timestep j (diffusers' alphas_cumprod[j]).</summary>
    public double AlphaBar(int timestep) => Math.Exp(_logAlphaBar[timestep + 1]);

    /// <summary>The network is fed the training timestep p − 1 = t·T − 1 (0 below the first step).</summary>
    public override Tensor NetworkTime(Tensor t, double scale) => (t * TrainTimesteps - 1.0).clamp_min(0.0);

    private (double L, double Slope) LogAlphaBar(double t)
    {
        var p = Math.Clamp(t, 0, 1) * TrainTimesteps;
        var j = Math.Min((int)Math.Floor(p), TrainTimesteps - 1);
        var slope = _logAlphaBar[j + 1] - _logAlphaBar[j];
        return (_logAlphaBar[j] + (p - j) * slope, slope * TrainTimesteps);
    }

    private (Tensor L, Tensor Slope) LogAlphaBar(Tensor t)
    {
        var p = t.to(ScalarType.Float64).clamp(0, 1) * TrainTimesteps;
        var j = p.floor().clamp_max(TrainTimesteps - 1).to(ScalarType.Int64);
        var table = _table.to(t.device);
        var lo = table.index_select(0, j.flatten()).reshape(j.shape);
        var hi = table.index_select(0, (j + 1).flatten()).reshape(j.shape);
        var slope = hi - lo;
        return (lo + (p - j.to(ScalarType.Float64)) * slope, slope * TrainTimesteps);
    }

    public override double Alpha(double t) => Math.Exp(LogAlphaBar(t).L / 2);
    public override double Sigma(double t) => Math.Sqrt(Math.Max(1 - Math.Exp(LogAlphaBar(t).L), 0));
    // α = e^{L/2}: α' = α L'/2; σ = √(1 − e^L): σ' = −e^L L' / (2σ).
    public override double AlphaDerivative(double t) => Alpha(t) * LogAlphaBar(t).Slope / 2;
    public override double SigmaDerivative(double t) => -Math.Exp(LogAlphaBar(t).L) * LogAlphaBar(t).Slope / (2 * Sigma(t));

    public override Tensor Alpha(Tensor t) => (LogAlphaBar(t).L / 2).exp().to(t.dtype);
    public override Tensor Sigma(Tensor t) => (1 - LogAlphaBar(t).L.exp()).clamp_min(0).sqrt().to(t.dtype);
    public override Tensor AlphaDerivative(Tensor t)
    {
        var (l, slope) = LogAlphaBar(t);
        return ((l / 2).exp() * slope / 2).to(t.dtype);
    }
    public override Tensor SigmaDerivative(Tensor t)
    {
        var (l, slope) = LogAlphaBar(t);
        return (-l.exp() * slope / (2 * (1 - l.exp()).clamp_min(0).sqrt())).to(t.dtype);
    }
}
