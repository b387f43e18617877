using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Distillation;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Distillation;

public class SubintervalScoreMatchingTests
{
    public static TheoryData<string> Schedules => new() { "flow", "vp-cosine" };

    private static GaussianMixture Mixture() => new([[-2.0, 1.0], [3.0, 0.5], [0.0, -3.0]], [0.3, 0.5, 0.2], [0.5, 0.3, 0.2]);

    private static Tensor T(double v) => torch.tensor(v, ScalarType.Float64);

    /// <summary>
    /// method.md §4.4: for data from a Gaussian mixture the conditional mean of the subinterval
    /// target given x_t equals the exact velocity of p_t; the naive target's does not.
    /// Monte Carlo over (x_0, ε, ε') by importance sampling of x_s ~ p_s with weights
    /// N(x_t; α_{t|s} x_s, σ²_{t|s}) and ε' = (x_t − α_{t|s} x_s)/σ_{t|s}.
    /// </summary>
    [Theory]
    [MemberData(nameof(Schedules))]
    public void Conditional_mean_of_the_subinterval_target_is_the_exact_velocity_and_the_naive_one_is_biased(string name)
    {
        var schedule = NoiseSchedule.FromName(name);
        var mixture = Mixture();
        using var g = new Generator(31);
        const double s = 0.5;
        var (x0, _) = mixture.Sample(1_000_000, g);
        var xs = schedule.Alpha(s) * x0.to(ScalarType.Float64) + schedule.Sigma(s) * torch.randn(1_000_000, 2, ScalarType.Float64, generator: g);
        var maxNaiveBias = 0.0;
        foreach (var t in new[] { 0.6, 0.75, 0.9 })
        {
            double aTs = schedule.TransitionAlpha(t, s), sTs = schedule.TransitionSigma(t, s);
            var (q0, _) = mixture.Sample(3, g);
            var queries = schedule.Alpha(t) * q0.to(ScalarType.Float64) + schedule.Sigma(t) * torch.randn(3, 2, ScalarType.Float64, generator: g);
            var exact = mixture.Velocity(queries, t, schedule);
            for (var q = 0; q < 3; q++)
            {
                var xt = queries[q].unsqueeze(0);
                var logw = -(xt - aTs * xs).square().sum(1) / (2 * sTs * sTs);
                var w = (logw - logw.max()).exp();
                w = (w / w.sum()).unsqueeze(1);
                var ess = 1.0 / TestUtil.Scalar(w.square().sum());
                var epsPrime = (xt - aTs * xs) / sTs;
                var target = SubintervalScoreMatching.VelocityTarget(schedule, xs, epsPrime, T(t), T(s));
                var naive = SubintervalScoreMatching.NaiveTarget(schedule, xs, epsPrime, T(t));
                var mean = (w * target).sum(dim: 0);
                var se = TestUtil.Scalar(((w * (target - mean).square()).sum(dim: 0) / ess).sqrt().max());
                var err = TestUtil.MaxAbs(mean, exact[q]);
                Assert.True(ess > 300 && se < 0.05, $"Monte Carlo too weak at t = {t}: ESS {ess:F0}, se {se:F3}");
                Assert.True(err < 4 * se + 1e-3, $"t = {t}, query {q}: |E[target|x_t] − v| = {err:F4} (se {se:F4})");
                maxNaiveBias = Math.Max(maxNaiveBias, TestUtil.MaxAbs((w * naive).sum(dim: 0), exact[q]));
            }
        }
        Assert.True(maxNaiveBias > 0.3, $"the naive target should be visibly biased (max bias {maxNaiveBias:F3})");
    }

    [Theory]
    [MemberData(nameof(Schedules))]
    public void With_s_zero_every_target_reduces_to_the_ordinary_one(string name)
    {
        var schedule = NoiseSchedule.FromName(name);
        using var g = new Generator(1);
        var x0 = torch.randn(16, 3, ScalarType.Float64, generator: g);
        var eps = torch.randn(16, 3, ScalarType.Float64, generator: g);
        var t = torch.rand(16, 1, ScalarType.Float64, generator: g) * 0.9 + 0.05;
        var zero = torch.zeros_like(t);
        Assert.True(TestUtil.MaxAbs(SubintervalScoreMatching.VelocityTarget(schedule, x0, eps, t, zero), Parameterization.VelocityTarget(schedule, x0, eps, t)) < 1e-10);
        Assert.True(TestUtil.MaxAbs(SubintervalScoreMatching.X0Target(schedule, x0, eps, t, zero), x0) < 1e-12);
        Assert.True(TestUtil.MaxAbs(SubintervalScoreMatching.EpsilonTarget(schedule, eps, t, zero), eps) < 1e-12);
        Assert.True(TestUtil.MaxAbs(SubintervalScoreMatching.ForwardKernel(schedule, x0, eps, t, zero), Parameterization.Noise(schedule, x0, eps, t)) < 1e-12);
        Assert.True(TestUtil.MaxAbs(SubintervalScoreMatching.NaiveTarget(schedule, x0, eps, t), SubintervalScoreMatching.VelocityTarget(schedule, x0, eps, t, zero)) < 1e-10);
    }

    [Fact]
    public void Flow_matching_targets_are_the_papers_equations_11_and_12()
    {
        var schedule = FlowMatchingSchedule.Instance;
        using var g = new Generator(2);
        var xs = torch.randn(8, 2, ScalarType.Float64, generator: g);
        var e = torch.randn(8, 2, ScalarType.Float64, generator: g);
        double s = 0.4, t = 0.7;
        double aS = 1 - s, sS = s, aT = 1 - t, sT = t, sTs = schedule.TransitionSigma(t, s);
        var eq11 = (aS * aS * sT + aT * sS * sS) / (aS * aS * sTs) * e - xs / aS;
        var eq12 = xs / aS - aT * sS * sS / (aS * aS * sTs) * e;
        Assert.True(TestUtil.MaxAbs(SubintervalScoreMatching.VelocityTarget(schedule, xs, e, T(t), T(s)), eq11) < 1e-10);
        Assert.True(TestUtil.MaxAbs(SubintervalScoreMatching.X0Target(schedule, xs, e, T(t), T(s)), eq12) < 1e-10);
        // The bracket of Eq. 13 with its plus sign on the x_s term: σψ − [A ε' − (σ/α_s) x_s].
        var bracket = (aS * aS * sT + aT * sS * sS) / (aS * aS) * e - sTs / aS * xs;
        Assert.True(TestUtil.MaxAbs(SubintervalScoreMatching.ScaledVelocityTarget(schedule, xs, e, T(t), T(s)), bracket) < 1e-10);
    }

    [Theory]
    [MemberData(nameof(Schedules))]
    public void Clamped_loss_equals_the_raw_loss_where_the_clamp_is_inactive_and_is_bounded_near_s(string name)
    {
        var schedule = NoiseSchedule.FromName(name);
        using var g = new Generator(3);
        var xs = torch.randn(64, 2, ScalarType.Float64, generator: g);
        var e = torch.randn(64, 2, ScalarType.Float64, generator: g);
        var pred = torch.randn(64, 2, ScalarType.Float64, generator: g);
        var s = torch.full(64, 1, 0.3, ScalarType.Float64);
        var t = 0.3 + torch.rand(64, 1, ScalarType.Float64, generator: g) * 0.7;
        var sigma2 = schedule.TransitionSigma(t, s).square().squeeze(1);
        var stable = SubintervalScoreMatching.StableLoss(schedule, pred, xs, e, t, s, 10.0);
        var raw = SubintervalScoreMatching.RawLoss(schedule, pred, xs, e, t, s);
        var active = 1.0 / sigma2 <= 10.0;
        Assert.True(active.any().item<bool>() && (~active).any().item<bool>(), "the draw should cover both regimes");
        Assert.True(TestUtil.MaxAbs(stable.masked_select(active), raw.masked_select(active)) < 1e-8 * (1 + TestUtil.Scalar(raw.abs().max())));
        // Elsewhere L = 10 σ² ‖ψ − ψ_target‖² (min(1, 10σ²) form).
        Assert.True(TestUtil.MaxAbs(stable.masked_select(~active), (10 * sigma2 * raw).masked_select(~active)) < 1e-6);
        // Arbitrarily close to s the stable loss stays finite.
        var tClose = s + 1e-9;
        Assert.True(SubintervalScoreMatching.StableLoss(schedule, pred, xs, e, tClose, s).isfinite().all().item<bool>());
    }
}
