using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Diffusion;

public class NoiseScheduleTests
{
    public static TheoryData<string> Schedules => new() { "flow", "vp-cosine" };

    [Theory]
    [MemberData(nameof(Schedules))]
    public void Endpoints_and_snr_is_strictly_decreasing(string name)
    {
        var s = NoiseSchedule.FromName(name);
        Assert.Equal(1.0, s.Alpha(0), 12);
        Assert.Equal(0.0, s.Sigma(0), 12);
        var previous = double.PositiveInfinity;
        for (var t = 0.01; t < 0.995; t += 0.01)
        {
            var snr = s.Snr(t);
            Assert.True(snr < previous, $"SNR not decreasing at t = {t}");
            previous = snr;
        }
    }

    [Theory]
    [MemberData(nameof(Schedules))]
    public void Derivatives_match_finite_differences(string name)
    {
        var s = NoiseSchedule.FromName(name);
        const double h = 1e-6;
        foreach (var t in new[] { 0.1, 0.37, 0.5, 0.9 })
        {
            Assert.Equal((s.Alpha(t + h) - s.Alpha(t - h)) / (2 * h), s.AlphaDerivative(t), 6);
            Assert.Equal((s.Sigma(t + h) - s.Sigma(t - h)) / (2 * h), s.SigmaDerivative(t), 6);
        }
    }

    [Theory]
    [MemberData(nameof(Schedules))]
    public void Transition_reduces_to_the_marginal_at_s_zero(string name)
    {
        var s = NoiseSchedule.FromName(name);
        foreach (var t in new[] { 0.2, 0.5, 0.8 })
        {
            Assert.Equal(s.Alpha(t), s.TransitionAlpha(t, 0), 12);
            Assert.Equal(s.Sigma(t), s.TransitionSigma(t, 0), 12);
        }
    }

    [Fact]
    public void Flow_matching_transition_has_the_closed_form()
    {
        // α_{t|s} = (1−t)/(1−s), σ²_{t|s} = t² − α²_{t|s} s².
        var s = FlowMatchingSchedule.Instance;
        double t = 0.8, b = 0.5;
        Assert.Equal(0.4, s.TransitionAlpha(t, b), 12);
        Assert.Equal(Math.Sqrt(0.64 - 0.16 * 0.25), s.TransitionSigma(t, b), 12);
    }

    /// <summary>
    /// Monte Carlo: x_t = α_{t|s} x_s + σ_{t|s} ε', with x_s drawn by the forward process,
    /// must have the exact noised marginal p_t of a known mixture. Checked on the mean,
    /// the second moment and the mean exact log density (all against closed forms).
    /// </summary>
    [Theory]
    [MemberData(nameof(Schedules))]
    public void Transition_from_s_gives_the_marginal_at_t(string name)
    {
        var schedule = NoiseSchedule.FromName(name);
        var mixture = new GaussianMixture([[-2.0, 1.0], [3.0, 0.5], [0.0, -3.0]], [0.3, 0.5, 0.2], [0.5, 0.3, 0.2]);
        using var g = new Generator(11);
        const int n = 200_000;
        double s = 0.4, t = 0.75;
        var (x0, _) = mixture.Sample(n, g);
        var x0d = x0.to(ScalarType.Float64);
        var xs = schedule.Alpha(s) * x0d + schedule.Sigma(s) * torch.randn(x0.shape, ScalarType.Float64, generator: g);
        var xt = schedule.TransitionAlpha(t, s) * xs + schedule.TransitionSigma(t, s) * torch.randn(x0.shape, ScalarType.Float64, generator: g);

        // Exact moments of p_t: E x = α Σ w μ, E‖x‖² = α² Σ w (‖μ‖² + D s²) + D σ².
        double a = schedule.Alpha(t), sg = schedule.Sigma(t);
        var w = mixture.Weights;
        var meanX = a * Enumerable.Range(0, 3).Sum(k => w[k] * mixture.Means[k][0]);
        var second = a * a * Enumerable.Range(0, 3).Sum(k => w[k] * (mixture.Means[k].Sum(v => v * v) + 2 * mixture.Stds[k] * mixture.Stds[k])) + 2 * sg * sg;
        // Tolerances are ~4 standard errors of the 200k-sample averages.
        Assert.InRange(TestUtil.Scalar(xt[.., 0].mean()), meanX - 0.02, meanX + 0.02);
        Assert.InRange(TestUtil.Scalar(xt.square().sum(1).mean()), second - 0.15, second + 0.15);

        // Mean exact log density matches that of direct samples x_t = α_t x_0 + σ_t ε.
        var direct = a * x0d + sg * torch.randn(x0.shape, ScalarType.Float64, generator: g);
        var viaTransition = TestUtil.Scalar(mixture.LogDensity(xt, t, schedule).mean());
        var viaDirect = TestUtil.Scalar(mixture.LogDensity(direct, t, schedule).mean());
        Assert.True(Math.Abs(viaTransition - viaDirect) < 0.01, $"{viaTransition} vs {viaDirect}");
    }
}
