using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Training;
using Xunit;

namespace PhasedDmd.Tests.Evaluation;

/// <summary>
/// The motion-free task and its motion measures, on clips with known answers: real data (a quarter
/// still, the rest moving either way along the prompt's axis), still clips, a known mixture of still and
/// moving clips, a collapsed generator (one direction, one speed) and a generator that averages the
/// motions of a prompt pixel by pixel.
/// </summary>
public class FreeMotionMetricsTests
{
    private const int Per = MotionTask.Frames * MotionTask.Size * MotionTask.Size;
    private static readonly IReadOnlyList<string> Prompts = new FreeMotionTask().EvaluationPrompts;

    /// <summary>A grid [seeds × prompts] whose clip for prompt p in row r is made by <paramref name="clip"/>(prompt, row).</summary>
    private static float[] Grid(int seeds, Func<string, int, MotionAttributes> clip)
    {
        var pixels = new float[seeds * Prompts.Count * Per];
        for (var r = 0; r < seeds; r++)
            for (var p = 0; p < Prompts.Count; p++)
                MotionTask.Render(clip(Prompts[p], r), pixels.AsSpan((r * Prompts.Count + p) * Per, Per));
        return pixels;
    }

    private static MotionAttributes Clip(string prompt, string? direction, double speed, int row)
    {
        var words = prompt.Split(' ');
        var d = direction ?? FreeMotionTask.DirectionsOf(words[1]).Positive;
        var u = (float)((row * 0.37) % 1.0);
        return MotionTask.Place(words[0], d, d == "still" ? 0 : speed, u, 1 - u);
    }

    [Fact]
    public void The_prompts_name_shape_and_axis_and_the_data_are_a_quarter_still()
    {
        Assert.Equal(8, Prompts.Count);
        Assert.Contains("square horizontal", Prompts);
        using var g = Runtime.NewGenerator(0);
        var drawn = FreeMotionTask.SampleAttributes(4000, g);
        Assert.InRange(drawn.Count(d => d.Clip.Direction == "still") / 4000.0, 0.23, 0.27);
        Assert.All(drawn.Where(d => d.Clip.Direction != "still"), d => Assert.Equal(d.Axis, FreeMotionTask.AxisOf(d.Clip.Direction)));
        var moving = drawn.Where(d => d.Clip.Direction != "still").ToArray();
        Assert.InRange(moving.Count(d => d.Clip.Direction is "left" or "up") / (double)moving.Length, 0.47, 0.53);
        Assert.All(drawn, d => Assert.InRange(d.Clip.Speed, 0, MotionTask.MaxSpeed));
    }

    [Fact]
    public void Real_data_score_their_own_share_of_moving_clips_and_direction_distribution()
    {
        var m = FreeMotionMetrics.FromSamples(FreeMotionMetrics.RealGrid(Prompts, 32, seed: 100), Prompts, 32);
        Assert.InRange(m.DynamicDegree, 0.69, 0.81);          // 0.75 ± 2.2 binomial sd over 256 clips
        Assert.InRange(m.StillShare, 0.19, 0.31);
        Assert.True(m.DirectionTv < 0.08, $"direction TV {m.DirectionTv:F3}");
        Assert.InRange(m.MotionDiversityRatio, 0.85, 1.15);
        Assert.True(m.ShapeAccuracy > 0.9, $"shape {m.ShapeAccuracy:F3}");
        Assert.True(m.AxisAccuracy > 0.97, $"axis {m.AxisAccuracy:F3}");
        Assert.InRange(m.MeanSpeed, 0.65, 0.85);              // speeds uniform in [0.25, 1.25]
        Assert.InRange(m.DynamicThreshold, 0.135, 0.165);     // half the 5th percentile of speeds uniform in [0.25, 1.25]: 0.15
    }

    [Fact]
    public void Still_clips_have_dynamic_degree_zero_and_no_motion_diversity()
    {
        var m = FreeMotionMetrics.FromSamples(Grid(8, (p, r) => Clip(p, "still", 0, r)), Prompts, 8);
        Assert.Equal(0, m.DynamicDegree);
        Assert.Equal(1, m.StillShare);
        Assert.True(m.MeanAbsoluteFlow < 1e-3, $"flow {m.MeanAbsoluteFlow}");
        Assert.True(m.MotionDiversity < 1e-3, $"diversity {m.MotionDiversity}");
        Assert.Equal(0.75, m.DirectionTv, 6);                 // all mass on 'still' against the data's 0.25
    }

    [Fact]
    public void A_known_mixture_of_still_and_moving_clips_scores_its_moving_share()
    {
        // Rows 0, 1 and 2 of 8 still, the others moving at speeds from 0.25 to 1.25: dynamic degree 5/8.
        var m = FreeMotionMetrics.FromSamples(Grid(8, (p, r) => Clip(p, r < 3 ? "still" : null, 0.25 + (r - 3) * 0.25, r)), Prompts, 8);
        Assert.Equal(5 / 8.0, m.DynamicDegree, 6);
        Assert.Equal(3 / 8.0, m.StillShare, 6);
        Assert.Equal(5 / 8.0, m.PositiveShare, 6);
        Assert.Equal(0, m.NegativeShare);
    }

    [Fact]
    public void A_collapsed_generator_keeps_moving_but_loses_the_motion_distribution()
    {
        var m = FreeMotionMetrics.FromSamples(Grid(16, (p, r) => Clip(p, null, 0.75, r)), Prompts, 16);
        Assert.Equal(1, m.DynamicDegree);
        Assert.True(m.MotionDiversityRatio < 0.2, $"diversity ratio {m.MotionDiversityRatio:F3}");
        Assert.Equal(0.625, m.DirectionTv, 6);                // all mass on 'positive' against the data's 0.375
    }

    [Fact]
    public void Averaging_the_motions_of_a_prompt_cancels_them()
    {
        // The pixel-wise mean of many real clips of one prompt: still, left and right from the same kind of starts.
        var real = FreeMotionMetrics.RealGrid(Prompts, 64, seed: 7);
        var mean = new float[Prompts.Count * Per];
        for (var r = 0; r < 64; r++)
            for (var i = 0; i < mean.Length; i++) mean[i] += real[r * mean.Length + i] / 64;
        var averaged = new float[8 * mean.Length];
        for (var r = 0; r < 8; r++) mean.CopyTo(averaged, r * mean.Length);
        var own = FreeMotionMetrics.FromSamples(real, Prompts, 64);
        var blurred = FreeMotionMetrics.FromSamples(averaged, Prompts, 8);
        Assert.True(blurred.MeanAbsoluteFlow < 0.1 * own.MeanAbsoluteFlow,
            $"the averaged clips' flow {blurred.MeanAbsoluteFlow:F3} against the clips' own {own.MeanAbsoluteFlow:F3}");
        Assert.True(blurred.DynamicDegree < 0.2, $"dynamic degree {blurred.DynamicDegree:F3}");
    }
}
