using PhasedDmd.Diffusion;
using TorchSharp;
using Xunit;

namespace PhasedDmd.Tests.Diffusion;

public class TimestepsTests
{
    [Fact]
    public void Shift_5_maps_the_wan_grid()
    {
        // The paper's Wan timesteps 1000/938/833/625 come from 1, 0.75, 0.5, 0.25 with shift 5.
        double[] expected = [1.0, 0.9375, 5.0 / 6.0, 0.625];
        double[] u = [1.0, 0.75, 0.5, 0.25];
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], Timesteps.Shift(u[i], 5), 12);
    }

    [Fact]
    public void Shift_3_maps_the_qwen_grid()
    {
        double[] expected = [1.0, 0.9, 0.75, 0.5];
        double[] u = [1.0, 0.75, 0.5, 0.25];
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], Timesteps.Shift(u[i], 3), 12);
    }

    [Fact]
    public void Grid_is_decreasing_from_one_to_zero_and_unshift_inverts_shift()
    {
        var g = Timesteps.Grid(4, 5);
        Assert.Equal([1.0, 0.9375, 5.0 / 6.0, 0.625, 0.0], g.Select(x => Math.Round(x, 12)).ToArray(), new RoundedComparer());
        foreach (var t in new[] { 0.0, 0.1, 0.5, 0.93, 1.0 })
            Assert.Equal(t, Timesteps.Unshift(Timesteps.Shift(t, 3.7), 3.7), 12);
    }

    [Fact]
    public void Sampler_draws_uniform_unshifted_times_inside_the_interval_with_margin()
    {
        // Phase 1 of Wan: u ~ U(0.5, 1), shift 5 → t ∈ (0.833, 1); with margin 0.02 above the boundary.
        var sampler = new TimestepSampler(Lower: 5.0 / 6.0, Upper: 1.0, Shift: 5, Margin: 0.02);
        using var gen = new torch.Generator(1);
        using var t = sampler.Sample(100_000, gen, dtype: torch.ScalarType.Float64);
        var values = t.data<double>().ToArray();
        Assert.All(values, v => Assert.InRange(v, 5.0 / 6.0 + 0.02, 1.0));
        // Unshifted values are uniform on [unshift(lo), 1]: their mean is the midpoint.
        var ulo = Timesteps.Unshift(5.0 / 6.0 + 0.02, 5);
        var mean = values.Select(v => Timesteps.Unshift(v, 5)).Average();
        Assert.Equal((ulo + 1.0) / 2, mean, 2);
    }

    [Fact]
    public void An_empty_interval_is_an_error()
    {
        var sampler = new TimestepSampler(Lower: 0.9, Upper: 0.91, Margin: 0.02);
        Assert.Throws<ArgumentException>(() => sampler.Interval);
    }

    private sealed class RoundedComparer : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) < 1e-9;
        public int GetHashCode(double x) => 0;
    }
}
