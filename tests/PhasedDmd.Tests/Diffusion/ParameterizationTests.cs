using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Diffusion;

public class ParameterizationTests
{
    public static TheoryData<string> Schedules => new() { "flow", "vp-cosine" };

    [Theory]
    [MemberData(nameof(Schedules))]
    public void Velocity_target_recovers_x0_and_epsilon(string name)
    {
        // With v = α' x0 + σ' ε and x_t = α x0 + σ ε, the conversions must return x0 and ε exactly.
        var s = NoiseSchedule.FromName(name);
        using var g = new Generator(3);
        var x0 = torch.randn(64, 3, ScalarType.Float64, generator: g);
        var eps = torch.randn(64, 3, ScalarType.Float64, generator: g);
        var t = (torch.rand(64, 1, ScalarType.Float64, generator: g) * 0.98 + 0.01);
        var xt = Parameterization.Noise(s, x0, eps, t);
        var v = Parameterization.VelocityTarget(s, x0, eps, t);
        Assert.True(TestUtil.MaxAbs(Parameterization.VelocityToX0(s, xt, v, t), x0) < 1e-9);
        Assert.True(TestUtil.MaxAbs(Parameterization.VelocityToEpsilon(s, xt, v, t), eps) < 1e-9);
        Assert.True(TestUtil.MaxAbs(Parameterization.X0ToVelocity(s, xt, x0, t), v) < 1e-9);
        Assert.True(TestUtil.MaxAbs(Parameterization.EpsilonToVelocity(s, xt, eps, t), v) < 1e-9);
    }

    [Fact]
    public void Flow_matching_conversions_are_the_papers_formulas()
    {
        // method.md §1: x̂0 = x_t − t v, ε̂ = x_t + (1 − t) v, target ε − x0.
        var s = FlowMatchingSchedule.Instance;
        using var g = new Generator(5);
        var xt = torch.randn(10, 2, ScalarType.Float64, generator: g);
        var v = torch.randn(10, 2, ScalarType.Float64, generator: g);
        var t = torch.rand(10, 1, ScalarType.Float64, generator: g);
        Assert.True(TestUtil.MaxAbs(Parameterization.VelocityToX0(s, xt, v, t), xt - t * v) < 1e-12);
        Assert.True(TestUtil.MaxAbs(Parameterization.VelocityToEpsilon(s, xt, v, t), xt + (1 - t) * v) < 1e-12);
        Assert.True(TestUtil.MaxAbs(Parameterization.VelocityTarget(s, xt, v, t), v - xt) < 1e-12);
    }

    [Theory]
    [MemberData(nameof(Schedules))]
    public void Score_of_the_exact_velocity_is_the_exact_score(string name)
    {
        // Two independent closed forms of the same mixture: score via Σ r_k (αμ_k − x)/v_k,
        // and the velocity converted to a score by the parameterisation.
        var s = NoiseSchedule.FromName(name);
        var mixture = MixtureTasks.Ring8();
        using var g = new Generator(9);
        var x = torch.randn(50, 2, ScalarType.Float64, generator: g) * 3;
        foreach (var t in new[] { 0.2, 0.5, 0.9 })
        {
            var v = mixture.Velocity(x, t, s);
            var tt = torch.full(50, 1, t, ScalarType.Float64);
            Assert.True(TestUtil.MaxAbs(Parameterization.VelocityToScore(s, x, v, tt), mixture.Score(x, t, s)) < 1e-8);
        }
    }

    [Fact]
    public void Guidance_scale_one_is_conditional_and_zero_is_unconditional()
    {
        var u = torch.tensor(new[] { 1.0, 2.0 });
        var c = torch.tensor(new[] { 3.0, 5.0 });
        Assert.True(TestUtil.MaxAbs(Guidance.Combine(u, c, 1.0), c) < 1e-12);
        Assert.True(TestUtil.MaxAbs(Guidance.Combine(u, c, 0.0), u) < 1e-12);
        Assert.True(TestUtil.MaxAbs(Guidance.Combine(u, c, 4.0), torch.tensor(new[] { 9.0, 14.0 })) < 1e-12);
    }
}
