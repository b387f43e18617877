using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Evaluation;

public class MixtureMetricsTests
{
    [Fact]
    public void Samples_of_the_true_mixture_score_as_perfect()
    {
        var mixture = MixtureTasks.Ring8();
        using var g = new Generator(1);
        var (x, _) = mixture.Sample(20_000, g);
        var m = MixtureMetrics.Evaluate(mixture, x, seed: 3);
        Assert.Equal(1.0, m.ModeCoverage);
        Assert.True(m.WeightTv < 0.02, $"TV {m.WeightTv}");
        // P(‖z‖ > 3√2) for a 2D standard normal is exp(−9) ≈ 1.2e-4.
        Assert.True(m.OffModeFraction < 0.002, $"off-mode {m.OffModeFraction}");
        Assert.True(Math.Abs(m.Mmd) < 2e-3, $"MMD {m.Mmd}");
        // The mean log-likelihood of true samples estimates −H(p), about log-density of the modes.
        var direct = TestUtil.Scalar(mixture.LogDensity(x, 0).mean());
        Assert.Equal(direct, m.MeanLogLikelihood, 6);
    }

    [Fact]
    public void Collapsing_onto_one_mode_is_detected()
    {
        var mixture = MixtureTasks.Ring8();
        var x = torch.tensor(new[] { 4.0f, 0.0f }).repeat(1000, 1) + torch.randn(1000, 2) * 0.1f;
        var m = MixtureMetrics.Evaluate(mixture, x);
        Assert.Equal(1.0 / 8, m.ModeCoverage);
        Assert.Equal(0.7, m.WeightTv, 6); // ½(|1 − 0.3| + Σ_other w) = 0.7
        Assert.True(m.Mmd > 0.05, $"MMD {m.Mmd}");
    }

    [Fact]
    public void Points_between_modes_and_non_finite_points_are_off_mode()
    {
        var mixture = MixtureTasks.Ring8();
        using var g = new Generator(2);
        var (onMode, _) = mixture.Sample(600, g);
        var between = torch.zeros(300, 2);                  // the ring's centre: 4 away from every mode
        var broken = torch.full(100, 2, float.NaN);
        var m = MixtureMetrics.Evaluate(mixture, torch.cat([onMode, between, broken]));
        Assert.Equal(0.4, m.OffModeFraction, 2);
        Assert.Equal(0.1, m.NonFiniteFraction, 6);
        Assert.True(double.IsFinite(m.Mmd));
    }

    [Fact]
    public void Mmd_is_zero_for_identical_sets_in_expectation_and_grows_with_shift()
    {
        using var g = new Generator(5);
        var a = torch.randn(1500, 2, ScalarType.Float64, generator: g);
        var b = torch.randn(1500, 2, ScalarType.Float64, generator: g);
        var (same, h) = MixtureMetrics.MmdRbf(a, b);
        var (shifted, _) = MixtureMetrics.MmdRbf(a + 1.0, b, h);
        var (further, _) = MixtureMetrics.MmdRbf(a + 2.0, b, h);
        Assert.True(Math.Abs(same) < 3e-3, $"{same}");
        Assert.True(shifted > 0.05 && further > shifted, $"{shifted} {further}");
        // Median distance between two independent 2D standard normals: √2 · √(2 ln 2) ≈ 1.665.
        Assert.InRange(h, 1.60, 1.73);
    }
}
