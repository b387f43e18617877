using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Training;
using Xunit;

namespace PhasedDmd.Tests.Evaluation;

public class OpticalFlowTests
{
    private const int Size = MotionTask.Size;

    /// <summary>A smooth pattern with texture in every direction, defined everywhere (so it can be shifted exactly).</summary>
    private static float Pattern(double x, double y) => (float)(0.5 * Math.Sin(0.7 * x + 0.3 * y) + 0.5 * Math.Cos(0.4 * x - 0.9 * y));

    private static float[] Frame(double shiftX, double shiftY)
    {
        var f = new float[Size * Size];
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
                f[y * Size + x] = Pattern(x - shiftX, y - shiftY);
        return f;
    }

    [Theory]
    [InlineData(0.3, 0.0, 1)]
    [InlineData(-0.8, 0.5, 1)]
    [InlineData(1.2, -1.1, 1)]
    [InlineData(0.0, 2.5, 2)]
    [InlineData(-2.0, 1.5, 2)]
    public void A_known_subpixel_translation_is_recovered(double du, double dv, int levels)
    {
        // J(x) = I(x − d): every pixel moved by d. Where the smoothing and LK windows, shifted by d,
        // stay inside the frame (no clamped border values), the estimate must be d.
        var flow = OpticalFlow.LucasKanade(Frame(0, 0), Frame(du, dv), Size, Size, new FlowOptions(Levels: levels));
        const int margin = 4;   // window radius 2 + smoothing radius 2
        bool Inside(int c, double d) => c - margin + Math.Min(0, d) >= 0 && c + margin + Math.Max(0, d) <= Size - 1;
        var checkedPixels = 0;
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
            {
                if (!Inside(x, du) || !Inside(y, dv)) continue;
                checkedPixels++;
                var i = y * Size + x;
                Assert.True(flow.Trackable[i]);
                Assert.True(Math.Abs(flow.U[i] - du) < 0.05 && Math.Abs(flow.V[i] - dv) < 0.05,
                    $"pixel ({x}, {y}): ({flow.U[i]:F3}, {flow.V[i]:F3}) for d = ({du}, {dv})");
            }
        Assert.True(checkedPixels >= 4, $"only {checkedPixels} interior pixels");
    }

    [Fact]
    public void Flat_frames_are_untrackable_and_a_static_clip_has_no_flow()
    {
        var blank = new float[Size * Size];
        Array.Fill(blank, -1f);
        var flow = OpticalFlow.LucasKanade(blank, blank, Size, Size);
        Assert.DoesNotContain(true, flow.Trackable);
        Assert.Equal(0, flow.MeanMagnitude);

        var frame = Frame(0, 0);
        var still = Enumerable.Repeat(frame, 4).SelectMany(f => f).ToArray();
        Assert.True(OpticalFlow.MeanAbsoluteFlow(still, 4, Size, Size) < 1e-3);
    }

    [Theory]
    [InlineData("square")]
    [InlineData("circle")]
    [InlineData("triangle")]
    [InlineData("cross")]
    public void The_mean_flow_of_a_task_clip_is_its_true_speed_within_15_percent(string shape)
    {
        foreach (var direction in MotionTask.Directions)
            foreach (var speed in new[] { 0.25, 0.5, 0.75, 1.0, 1.25 })
            {
                var (dx, dy) = MotionTask.UnitOf(direction);
                var travel = (MotionTask.Frames - 1) * speed;
                // start so that the whole path is centred in the frame
                var a = new MotionAttributes(shape, direction, speed, 7.5 - dx * travel / 2, 7.5 - dy * travel / 2);
                var clip = new float[MotionTask.Frames * Size * Size];
                MotionTask.Render(a, clip);
                var measured = OpticalFlow.MeanAbsoluteFlow(clip, MotionTask.Frames, Size, Size);
                Assert.True(Math.Abs(measured - speed) <= 0.15 * speed, $"{shape} {direction} at {speed}: measured {measured:F3}");
                var mid = OpticalFlow.LucasKanade(clip.AsSpan(3 * Size * Size, Size * Size), clip.AsSpan(4 * Size * Size, Size * Size), Size, Size).MeanVector;
                Assert.True(mid.U * dx + mid.V * dy > 0.8 * speed, $"{shape} {direction}: mean vector ({mid.U:F2}, {mid.V:F2})");
            }
    }

    [Fact]
    public void Dynamic_degree_counts_real_clips_as_moving_and_static_ones_as_not()
    {
        double[] Flows(int n, int seed, bool freeze)
        {
            using var g = Runtime.NewGenerator(seed);
            var attrs = MotionTask.SampleAttributes(n, g);
            var per = MotionTask.Frames * Size * Size;
            var flows = new double[n];
            var clip = new float[per];
            for (var i = 0; i < n; i++)
            {
                MotionTask.Render(attrs[i], clip);
                if (freeze)
                    for (var f = 1; f < MotionTask.Frames; f++) clip.AsSpan(0, Size * Size).CopyTo(clip.AsSpan(f * Size * Size));
                flows[i] = OpticalFlow.MeanAbsoluteFlow(clip, MotionTask.Frames, Size, Size);
            }
            return flows;
        }
        var threshold = OpticalFlow.CalibrateDynamicThreshold(Flows(64, 1, freeze: false));
        Assert.InRange(threshold, 0.05, 0.25);                    // half of roughly the slowest real speed (0.25 px/frame)
        Assert.True(OpticalFlow.DynamicDegree(Flows(64, 2, freeze: false), threshold) >= 0.9);
        var still = Flows(32, 3, freeze: true);
        Assert.Equal(0, OpticalFlow.DynamicDegree(still, threshold));
        var mixed = Flows(32, 4, freeze: false).Concat(still).ToList();
        Assert.InRange(OpticalFlow.DynamicDegree(mixed, threshold), 0.45, 0.5);
    }
}
