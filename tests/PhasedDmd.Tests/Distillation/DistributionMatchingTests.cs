using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Distillation;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Distillation;

public class DistributionMatchingTests
{
    public static TheoryData<string> Schedules => new() { "flow", "vp-cosine" };

    [Fact]
    public void Flow_matching_analytic_weight_is_the_papers_formula()
    {
        // method.md §4.2: w_{t|s} = α_t α_{t|s} / (α_t σ_t + σ_t²) = (1−t)² / ((1−s) t); s = 0 gives DMD's α²/(ασ + σ²).
        var schedule = FlowMatchingSchedule.Instance;
        foreach (var (t, s) in new[] { (0.9, 0.5), (0.6, 0.5), (0.3, 0.0), (0.95, 0.8333) })
        {
            var w = TestUtil.Scalar(DistributionMatching.AnalyticWeight(schedule, torch.tensor(t, ScalarType.Float64), torch.tensor(s, ScalarType.Float64)));
            Assert.Equal((1 - t) * (1 - t) / ((1 - s) * t), w, 10);
        }
    }

    /// <summary>
    /// For any schedule the analytic gradient is the reverse-KL gradient α_{t|s} (score_F − score_T),
    /// checked with two exact mixtures standing in for the teacher and the fake.
    /// </summary>
    [Theory]
    [MemberData(nameof(Schedules))]
    public void Analytic_gradient_is_the_score_difference_scaled_by_alpha_t_given_s(string name)
    {
        var schedule = NoiseSchedule.FromName(name);
        var teacher = MixtureTasks.Ring8();
        var fake = MixtureTasks.Grid9();
        using var g = new Generator(4);
        var xt = torch.randn(32, 2, ScalarType.Float64, generator: g) * 3;
        double t = 0.7, s = 0.4;
        var tt = torch.tensor(t, ScalarType.Float64);
        var ss = torch.tensor(s, ScalarType.Float64);
        var grad = DistributionMatching.AnalyticGradient(schedule, teacher.Velocity(xt, t, schedule), fake.Velocity(xt, t, schedule), tt, ss);
        var expected = schedule.TransitionAlpha(t, s) * (fake.Score(xt, t, schedule) - teacher.Score(xt, t, schedule));
        Assert.True(TestUtil.MaxAbs(grad, expected) < 1e-8);
    }

    [Fact]
    public void Surrogate_loss_has_gradient_g()
    {
        var x = torch.randn(1, 5, requires_grad: true);
        var g = torch.randn(1, 5);
        DistributionMatching.SurrogateLoss(x, g).backward();
        Assert.True(TestUtil.MaxAbs(x.grad!, g) < 1e-6);
        var xb = torch.randn(4, 5, requires_grad: true);
        var gb = torch.randn(4, 5);
        DistributionMatching.SurrogateLoss(xb, gb).backward();
        Assert.True(TestUtil.MaxAbs(xb.grad!, gb / 4) < 1e-6);
    }

    /// <summary>
    /// The sign test (method.md §2): one step of plain gradient descent on the surrogate moves
    /// the sample towards the teacher's x̂_0 and away from the fake's, for both weightings.
    /// </summary>
    [Theory]
    [InlineData("flow", false)]
    [InlineData("flow", true)]
    [InlineData("vp-cosine", false)]
    [InlineData("vp-cosine", true)]
    public void One_descent_step_moves_towards_the_teacher_and_away_from_the_fake(string name, bool normalized)
    {
        var schedule = NoiseSchedule.FromName(name);
        var teacher = new GaussianMixture([[2.0, 0.0]], [0.3], [1.0]);
        var fake = new GaussianMixture([[-2.0, 0.0]], [0.3], [1.0]);
        using var gen = new Generator(6);
        double t = 0.6, s = 0.2;
        var tt = torch.tensor(t, ScalarType.Float64);
        var ss = torch.tensor(s, ScalarType.Float64);
        var x = (torch.randn(16, 2, ScalarType.Float64, generator: gen) * 0.5).requires_grad_(true);
        var xt = schedule.TransitionAlpha(t, s) * x.detach() + schedule.TransitionSigma(t, s) * torch.randn(16, 2, ScalarType.Float64, generator: gen);
        var vT = teacher.Velocity(xt, t, schedule);
        var vF = fake.Velocity(xt, t, schedule);
        var x0T = Parameterization.VelocityToX0(schedule, xt, vT, tt);
        var x0F = Parameterization.VelocityToX0(schedule, xt, vF, tt);
        var grad = normalized
            ? DistributionMatching.NormalizedGradient(x.detach(), x0T, x0F).Gradient
            : DistributionMatching.AnalyticGradient(schedule, vT, vF, tt, ss);
        DistributionMatching.SurrogateLoss(x, grad).backward();
        var moved = x.detach() - 0.01 * x.grad!;
        var before = x.detach();
        Assert.True(TestUtil.Scalar((moved - x0T).norm() - (before - x0T).norm()) < 0, "did not move towards the teacher's x̂0");
        Assert.True(TestUtil.Scalar((moved - x0F).norm() - (before - x0F).norm()) > 0, "did not move away from the fake's x̂0");
    }

    [Fact]
    public void Normalised_gradient_has_the_dmd2_scale_floor_and_no_nans()
    {
        var student = torch.tensor(new[] { 1.0, 1.0, 5.0, 5.0 }).reshape(2, 2);
        var teacher = torch.tensor(new[] { 0.0, 0.0, 5.0, 5.0 }).reshape(2, 2);
        var fake = torch.tensor(new[] { 2.0, 2.0, double.NaN, 7.0 }).reshape(2, 2);
        var (g, normalizer) = DistributionMatching.NormalizedGradient(student, teacher, fake);
        Assert.Equal(new[] { 1.0, 1e-4 }, normalizer.data<double>().ToArray().Select(v => Math.Round(v, 10)));
        Assert.Equal(new[] { 2.0, 2.0, 0.0, 2e4 }, g.data<double>().ToArray().Select(v => Math.Round(v, 6)));
    }
}
