using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Evaluation;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Data;

public class GaussianMixtureTests
{
    public static TheoryData<string> Schedules => new() { "flow", "vp-cosine" };

    private static GaussianMixture TwoD() => new([[-2.0, 1.0], [3.0, 0.5], [0.0, -3.0]], [0.3, 0.5, 0.2], [0.5, 0.3, 0.2]);

    /// <summary>
    /// The closed-form velocity equals a Monte Carlo estimate of E[α' x_0 + σ' ε | x_t]
    /// by self-normalised importance sampling: x_0 from the prior, weights p(x_t | x_0),
    /// ε = (x_t − α x_0)/σ.
    /// </summary>
    [Theory]
    [MemberData(nameof(Schedules))]
    public void Exact_velocity_equals_monte_carlo_conditional_mean(string name)
    {
        var schedule = NoiseSchedule.FromName(name);
        var mixture = TwoD();
        using var g = new Generator(21);
        var (x0, _) = mixture.Sample(1_000_000, g);
        var x0d = x0.to(ScalarType.Float64);
        foreach (var t in new[] { 0.3, 0.6, 0.9 })
        {
            double a = schedule.Alpha(t), sg = schedule.Sigma(t);
            // Typical points of p_t (drawn by the forward process), where importance sampling from the prior is efficient.
            var (q0, _) = mixture.Sample(3, g);
            var queries = a * q0.to(ScalarType.Float64) + sg * torch.randn(3, 2, ScalarType.Float64, generator: g);
            var exact = mixture.Velocity(queries, t, schedule);
            for (var q = 0; q < 3; q++)
            {
                var xt = queries[q].unsqueeze(0);
                var logw = -(xt - a * x0d).square().sum(1) / (2 * sg * sg);
                var w = (logw - logw.max()).exp();
                w = w / w.sum();
                var eps = (xt - a * x0d) / sg;
                var v = schedule.AlphaDerivative(t) * x0d + schedule.SigmaDerivative(t) * eps;
                var mc = (w.unsqueeze(1) * v).sum(dim: 0);
                var ess = 1.0 / TestUtil.Scalar(w.square().sum());
                Assert.True(ess > 500, $"too few effective samples ({ess:F0}) at t = {t}");
                // Tolerance: 4 standard errors of the weighted mean (ESS-based), per coordinate.
                var se = TestUtil.Scalar(((w.unsqueeze(1) * (v - mc).square()).sum(dim: 0) / ess).sqrt().max());
                var err = TestUtil.MaxAbs(mc, exact[q]);
                Assert.True(se < 0.05, $"Monte Carlo too noisy (se {se}) at t = {t}");
                Assert.True(err < 4 * se + 1e-3, $"t = {t}, query {q}: MC {string.Join(",", mc.data<double>().ToArray())} vs exact {string.Join(",", exact[q].data<double>().ToArray())}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Schedules))]
    public void Exact_score_is_the_finite_difference_gradient_of_the_log_density(string name)
    {
        var schedule = NoiseSchedule.FromName(name);
        var mixture = TwoD();
        using var g = new Generator(2);
        var x = torch.randn(20, 2, ScalarType.Float64, generator: g) * 2;
        const double h = 1e-5;
        foreach (var t in new[] { 0.05, 0.4, 0.95 })
        {
            var score = mixture.Score(x, t, schedule);
            for (var d = 0; d < 2; d++)
            {
                var e = torch.zeros(1, 2, ScalarType.Float64);
                e[0, d] = torch.tensor(h, ScalarType.Float64);
                var fd = (mixture.LogDensity(x + e, t, schedule) - mixture.LogDensity(x - e, t, schedule)) / (2 * h);
                Assert.True(TestUtil.MaxAbs(fd, score[.., d]) < 1e-5, $"t = {t}, dim {d}");
            }
        }
    }

    [Fact]
    public void Log_density_at_t_zero_is_the_mixture_density()
    {
        // 1D, two components: compare with the textbook formula.
        var m = new GaussianMixture([[0.0], [2.0]], [1.0, 0.5], [0.25, 0.75]);
        static double N(double x, double mu, double s) => Math.Exp(-(x - mu) * (x - mu) / (2 * s * s)) / (s * Math.Sqrt(2 * Math.PI));
        foreach (var x in new[] { -1.0, 0.3, 1.7, 3.0 })
        {
            var expected = Math.Log(0.25 * N(x, 0, 1) + 0.75 * N(x, 2, 0.5));
            Assert.Equal(expected, TestUtil.Scalar(m.LogDensity(torch.tensor(new[] { x }, ScalarType.Float64).reshape(1, 1), 0.0)), 10);
        }
    }

    [Fact]
    public void Sampling_follows_the_weights()
    {
        var mixture = MixtureTasks.Ring8();
        using var g = new Generator(4);
        var (x, labels) = mixture.Sample(100_000, g);
        var counts = torch.bincount(labels, minlength: 8).to(ScalarType.Float64) / 100_000.0;
        Assert.True(TestUtil.MaxAbs(counts, mixture.WeightsTensor()) < 0.01);
        Assert.Equal(new long[] { 100_000, 2 }, x.shape);
    }

    [Fact]
    public void Exact_ode_transports_noise_onto_the_mixture()
    {
        // The probability-flow ODE maps N(0, I) at t = 1 to p_0: the end points must land on
        // the modes with the right weights.
        var mixture = MixtureTasks.Ring8();
        using var g = new Generator(8);
        var start = torch.randn(3000, 2, ScalarType.Float64, generator: g);
        var times = Enumerable.Range(0, 11).Select(i => 1.0 - i / 10.0).ToArray();
        var path = mixture.OdeTrajectory(start, times, substeps: 40);
        Assert.Equal(new long[] { 11, 3000, 2 }, path.shape);
        var metrics = MixtureMetrics.Evaluate(mixture, path[10]);
        Assert.Equal(1.0, metrics.ModeCoverage);
        Assert.True(metrics.WeightTv < 0.03, $"TV {metrics.WeightTv}");
        Assert.True(metrics.OffModeFraction < 0.01, $"off-mode {metrics.OffModeFraction}");
    }

    [Fact]
    public void Json_accepts_plain_numbers_for_1d_means_and_normalises_weights()
    {
        var m = GaussianMixture.FromJson("""{"means": [-1, 0, 1, 2], "stds": [0.1, 0.1, 0.1, 0.1], "weights": [1, 1, 1, 1]}""");
        Assert.Equal(1, m.Dim);
        Assert.Equal(4, m.Count);
        Assert.All(m.Weights, w => Assert.Equal(0.25, w, 12));
        var round = GaussianMixture.FromJson(m.ToJson());
        Assert.Equal(m.Means.SelectMany(v => v), round.Means.SelectMany(v => v));
    }

    [Theory]
    [InlineData("{", "malformed JSON")]
    [InlineData("[1, 2]", "must be an object")]
    [InlineData("""{"means": [[0, 0]], "stds": [1]}""", "'weights' must be an array")]
    [InlineData("""{"means": [[0, 0]], "stds": [1, 2], "weights": [1]}""", "'stds' has 2 entries")]
    [InlineData("""{"means": [[0, 0], [1]], "stds": [1, 1], "weights": [1, 1]}""", "means[1] has 1 coordinates")]
    [InlineData("""{"means": [[0, 0]], "stds": [0], "weights": [1]}""", "stds[0]")]
    [InlineData("""{"means": [[0, 0]], "stds": [1], "weights": [0]}""", "sum to a positive")]
    [InlineData("""{"means": [[0, 0]], "stds": [1], "weights": [-1]}""", "weights[0]")]
    [InlineData("""{"means": [["a", 0]], "stds": [1], "weights": [1]}""", "means[0][0] must be a number")]
    [InlineData("""{"means": [], "stds": [], "weights": []}""", "'means' is empty")]
    [InlineData("""{"means": [[0, 0]], "stds": [1], "weights": [1], "extra": 3}""", "unknown key 'extra'")]
    [InlineData("""{"mean": [[0, 0]], "stds": [1], "weights": [1]}""", "unknown key 'mean'")]
    public void Malformed_mixtures_are_rejected_with_the_field_named(string json, string expected)
    {
        var e = Assert.Throws<InputException>(() => GaussianMixture.FromJson(json));
        Assert.Contains(expected, e.Message);
    }
}
