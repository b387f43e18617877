using PhasedDmd.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Sample quality against an exact mixture. A sample belongs to its nearest mode and is
/// on-mode when within 3 std × √dim of it. <c>mmd</c> is the unbiased estimate of MMD² with
/// the RBF kernel exp(−‖x − y‖² / (2h²)) against fresh samples of the mixture, h = <c>mmdBandwidth</c>
/// (the median pairwise distance of those reference samples).
/// </summary>
public sealed record MixtureMetrics(
    int Samples,
    double ModeCoverage,
    double WeightTv,
    double OffModeFraction,
    double Mmd,
    double MmdBandwidth,
    double MeanLogLikelihood,
    double NonFiniteFraction,
    double[] ModeFrequencies,
    double[] TrueWeights)
{
    /// <summary>A mode is covered when it receives at least this share of its expected samples.</summary>
    public const double CoverageShare = 0.25;

    public static MixtureMetrics Evaluate(GaussianMixture mixture, Tensor samples, long seed = 0, int maxMmdSamples = 2000)
    {
        using var scope = torch.NewDisposeScope();
        var x = samples.detach().to(ScalarType.Float64).cpu().reshape(samples.shape[0], -1);
        var n = (int)x.shape[0];
        if (n == 0) throw new InputException("evaluation needs at least one sample");
        if (x.shape[1] != mixture.Dim)
            throw new InputException($"samples have {x.shape[1]} coordinates but the task's mixture has {mixture.Dim}");

        var finite = x.isfinite().all(1);
        var nonFinite = n - (int)finite.sum().item<long>();
        var safe = torch.where(finite.unsqueeze(1), x, torch.full_like(x, 1e6));

        var means = mixture.MeansTensor();
        var dist = torch.cdist(safe, means);                                  // [n, K]
        var (minDist, nearest) = dist.min(1);
        var radius = (mixture.StdsTensor() * (3.0 * Math.Sqrt(mixture.Dim))).index_select(0, nearest);
        var onMode = (minDist <= radius) & finite;
        var onCount = (int)onMode.sum().item<long>();
        var counts = torch.bincount(nearest.masked_select(onMode), minlength: mixture.Count).to(ScalarType.Float64);
        var countArray = counts.data<double>().ToArray();

        var weights = mixture.Weights;
        var frequencies = onCount > 0 ? countArray.Select(c => c / onCount).ToArray() : new double[mixture.Count];
        var tv = 0.5 * frequencies.Zip(weights, (f, w) => Math.Abs(f - w)).Sum();
        var covered = countArray.Zip(weights, (c, w) => c >= CoverageShare * w * n).Count(b => b);

        var logLik = mixture.LogDensity(safe.masked_select(finite.unsqueeze(1)).reshape(-1, mixture.Dim), 0.0);
        var meanLogLik = nonFinite == n ? double.NegativeInfinity : logLik.mean().item<double>();

        var m = Math.Min(n, maxMmdSamples);
        var (reference, _) = mixture.Sample(m, new Generator((ulong)(seed + 7919)));
        var (mmd, bandwidth) = MmdRbf(safe[..m], reference.to(ScalarType.Float64));

        return new MixtureMetrics(n, covered / (double)mixture.Count, tv, 1.0 - onCount / (double)n, mmd, bandwidth,
            meanLogLik, nonFinite / (double)n, frequencies, weights.ToArray());
    }

    /// <summary>Unbiased MMD² with an RBF kernel; bandwidth = median pairwise distance of <paramref name="y"/>.</summary>
    public static (double Mmd2, double Bandwidth) MmdRbf(Tensor x, Tensor y, double? bandwidth = null)
    {
        using var scope = torch.NewDisposeScope();
        var dyy = torch.cdist(y, y);
        var h = bandwidth ?? MedianOffDiagonal(dyy);
        double MeanOffDiagonal(Tensor d)
        {
            var k = (-(d.square()) / (2 * h * h)).exp();
            var m = d.shape[0];
            return ((k.sum() - k.diagonal().sum()) / (m * (m - 1))).item<double>();
        }
        var kxy = (-(torch.cdist(x, y).square()) / (2 * h * h)).exp().mean().item<double>();
        return (MeanOffDiagonal(torch.cdist(x, x)) + MeanOffDiagonal(dyy) - 2 * kxy, h);
    }

    private static double MedianOffDiagonal(Tensor d)
    {
        var m = d.shape[0];
        var mask = torch.ones(m, m, dtype: ScalarType.Bool).triu(1);
        return d.masked_select(mask).median().item<double>();
    }
}
