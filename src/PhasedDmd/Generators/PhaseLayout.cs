using System.Text.Json.Serialization;
using PhasedDmd.Diffusion;

namespace PhasedDmd.Generators;

/// <summary>
/// N student steps on a (shifted) grid 1 = t_0 &gt; … &gt; t_N = 0, grouped into K phases.
/// Phase k (1-based) covers steps b(k−1) … b(k)−1 and ends at the boundary s_k = t_{b(k)};
/// b(0) = 0 and b(K) = N. Only interior boundaries are stored (method.md §4.1).
/// </summary>
public sealed record PhaseLayout
{
    public int Steps { get; }
    public double Shift { get; }
    /// <summary>Interior boundary step indices b(1) … b(K−1), strictly increasing in (0, N).</summary>
    public int[] Boundaries { get; }

    [JsonIgnore] public double[] Times { get; }
    [JsonIgnore] public int Phases => Boundaries.Length + 1;

    [JsonConstructor]
    public PhaseLayout(int steps, double shift, int[] boundaries)
    {
        if (steps < 1) throw new InputException($"steps: must be ≥ 1 (got {steps})");
        if (!(shift > 0) || !double.IsFinite(shift)) throw new InputException($"shift: must be a positive number (got {shift})");
        for (var i = 0; i < boundaries.Length; i++)
        {
            if (boundaries[i] <= 0 || boundaries[i] >= steps)
                throw new InputException($"boundaries: step index {boundaries[i]} is not inside (0, {steps})");
            if (i > 0 && boundaries[i] <= boundaries[i - 1])
                throw new InputException("boundaries: must be strictly decreasing in time (increasing step index) with no repeats");
        }
        Steps = steps;
        Shift = shift;
        Boundaries = (int[])boundaries.Clone();
        Times = Timesteps.Grid(steps, shift);
    }

    /// <summary>K phases of equal length; an error when K does not divide N.</summary>
    public static PhaseLayout Even(int steps, int phases, double shift = 1.0)
    {
        if (phases < 1) throw new InputException($"phases: must be ≥ 1 (got {phases})");
        if (phases > steps) throw new InputException($"phases: {phases} phases need at least {phases} steps (got {steps})");
        if (steps % phases != 0)
            throw new InputException($"phases: {steps} steps do not split evenly into {phases} phases; set boundaries (the phase boundary times)");
        return new PhaseLayout(steps, shift, Enumerable.Range(1, phases - 1).Select(k => k * steps / phases).ToArray());
    }

    /// <summary>Phases from boundary times, each of which must lie on the grid (within 1e-3).</summary>
    public static PhaseLayout FromBoundaryTimes(int steps, double shift, IReadOnlyList<double> times)
    {
        var grid = Timesteps.Grid(steps, shift);
        var indices = times.Select(s =>
        {
            var i = Array.FindIndex(grid, g => Math.Abs(g - s) < 1e-3);
            if (i <= 0 || i >= steps)
                throw new InputException($"boundaries: {s} is not an interior point of the {steps}-step grid (shift {shift}): {string.Join(", ", grid.Select(g => g.ToString("0.####")))}");
            return i;
        }).ToArray();
        return new PhaseLayout(steps, shift, indices);
    }

    /// <summary>First step index of phase k (1-based).</summary>
    public int PhaseStart(int k) => k == 1 ? 0 : Boundaries[k - 2];

    /// <summary>One past the last step index of phase k: the index of its boundary time.</summary>
    public int PhaseEnd(int k) => k == Phases ? Steps : Boundaries[k - 1];

    /// <summary>Boundary time s_k = t_{b(k)} (0 for the last phase).</summary>
    public double BoundaryTime(int k) => Times[PhaseEnd(k)];

    /// <summary>Start time t_{b(k−1)} of phase k.</summary>
    public double StartTime(int k) => Times[PhaseStart(k)];

    /// <summary>The phase (1-based) that owns step i.</summary>
    public int PhaseOfStep(int i)
    {
        for (var k = 1; k <= Phases; k++)
            if (i < PhaseEnd(k)) return k;
        throw new ArgumentOutOfRangeException(nameof(i));
    }
}
