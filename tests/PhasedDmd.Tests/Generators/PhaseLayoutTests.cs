using PhasedDmd.Generators;
using Xunit;

namespace PhasedDmd.Tests.Generators;

public class PhaseLayoutTests
{
    [Fact]
    public void Wan_layout_four_steps_two_phases_with_shift_five()
    {
        var layout = PhaseLayout.Even(4, 2, 5);
        Assert.Equal(2, layout.Phases);
        Assert.Equal(5.0 / 6.0, layout.BoundaryTime(1), 10);  // ≈ 0.833, the paper's boundary
        Assert.Equal(0.0, layout.BoundaryTime(2));
        Assert.Equal(1.0, layout.StartTime(1));
        Assert.Equal([1, 1, 2, 2], Enumerable.Range(0, 4).Select(layout.PhaseOfStep));
        Assert.Equal(0, layout.PhaseStart(1));
        Assert.Equal(2, layout.PhaseEnd(1));
    }

    [Fact]
    public void Boundaries_given_as_times_must_lie_on_the_grid()
    {
        var layout = PhaseLayout.FromBoundaryTimes(4, 3, [0.75]);   // Qwen-Image: 1000/900/750/500, boundary 0.75
        Assert.Equal([2], layout.Boundaries);
        var e = Assert.Throws<InputException>(() => PhaseLayout.FromBoundaryTimes(4, 3, [0.8]));
        Assert.Contains("not an interior point", e.Message);
        Assert.Throws<InputException>(() => PhaseLayout.FromBoundaryTimes(4, 3, [1.0]));
        Assert.Throws<InputException>(() => PhaseLayout.FromBoundaryTimes(4, 3, [0.0]));
    }

    [Theory]
    [InlineData(4, 3, "do not split evenly")]
    [InlineData(2, 4, "need at least")]
    [InlineData(4, 0, "phases: must be")]
    public void Impossible_layouts_are_input_errors(int steps, int phases, string message)
        => Assert.Contains(message, Assert.Throws<InputException>(() => PhaseLayout.Even(steps, phases)).Message);

    [Fact]
    public void Boundaries_must_increase()
        => Assert.Throws<InputException>(() => new PhaseLayout(4, 1, [2, 1]));
}
