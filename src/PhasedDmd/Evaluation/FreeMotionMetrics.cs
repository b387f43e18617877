using PhasedDmd.Data;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Motion of a <c>motion-free</c> model on the 8 evaluation prompts × seeds (row-major [seeds × prompts,
/// 8, 1, 16, 16]). A clip is moving when its tracked speed (the centroid velocity's length, px/frame)
/// exceeds <see cref="DynamicThreshold"/>, half the 5th percentile of the tracked speed of real moving
/// clips (real still clips have none), so the dynamic degree of real data is its share of moving clips,
/// 0.75. The centroid is used rather than the optical flow because pixel noise, which a generated still
/// clip keeps, is flow to Lucas–Kanade but averages out of the centroid; the mean optical flow is
/// reported beside it (the paper's Table 3 column). The direction of a moving clip is the sign of
/// its centroid velocity along the prompt's axis. Motion diversity is the spread of the centroid
/// velocity across the seeds of a prompt, sqrt(var vx + var vy), averaged over the prompts; the ratio
/// divides it by the same measure on real clips of the same prompts.
/// </summary>
/// <param name="AxisAccuracy">Among moving clips, the share moving mainly along the prompt's axis.</param>
/// <param name="DirectionTv">Total variation between the (still, negative, positive) shares and the data's (0.25, 0.375, 0.375).</param>
/// <param name="MeanSpeed">Mean centroid speed (px/frame) of the moving clips (data: 0.75).</param>
public sealed record FreeMotionMetrics(
    int Prompts, int SeedsPerPrompt,
    double ShapeAccuracy, double AxisAccuracy,
    double MeanAbsoluteFlow, double DynamicDegree, double DynamicThreshold,
    double StillShare, double NegativeShare, double PositiveShare, double DirectionTv,
    double MotionDiversity, double MotionDiversityRatio, double MeanSpeed)
{
    private const int Per = MotionTask.Frames * MotionTask.Size * MotionTask.Size;
    private static readonly (double Still, double Negative, double Positive) DataShares =
        (FreeMotionTask.StillShare, (1 - FreeMotionTask.StillShare) / 2, (1 - FreeMotionTask.StillShare) / 2);

    /// <summary>The dynamic-degree threshold from 512 real clips (seed 0): half the 5th percentile of the moving ones' tracked speed.</summary>
    public static double RealDataDynamicThreshold => Calibration.Value;

    private static readonly Lazy<double> Calibration = new(() =>
    {
        using var generator = Training.Runtime.NewGenerator(0);
        var clip = new float[Per];
        var moving = FreeMotionTask.SampleAttributes(512, generator).Where(d => d.Clip.Speed > 0).Select(d =>
        {
            MotionTask.Render(d.Clip, clip);
            return Speed(clip);
        }).ToList();
        return OpticalFlow.CalibrateDynamicThreshold(moving);
    });

    private static IReadOnlyList<string> MotionPrompts { get; } = new FreeMotionTask().EvaluationPrompts;
    private static readonly Lazy<double> DataDiversity = new(() => Diversity(RealGrid(MotionPrompts, 32, seed: 1), MotionPrompts, 32));

    /// <summary>Real clips on a grid: row r holds one clip of every prompt (drawn from seed + r), as a model's grid is laid out.</summary>
    public static float[] RealGrid(IReadOnlyList<string> prompts, int seeds, int seed = 0)
    {
        var clips = new float[seeds * prompts.Count * Per];
        for (var r = 0; r < seeds; r++)
        {
            using var g = Training.Runtime.NewGenerator(seed + r);
            for (var p = 0; p < prompts.Count; p++)
                MotionTask.Render(FreeMotionTask.SampleFor(prompts[p], 1, g)[0], clips.AsSpan((r * prompts.Count + p) * Per, Per));
        }
        return clips;
    }

    public static FreeMotionMetrics FromSamples(float[] clips, IReadOnlyList<string> prompts, int seeds)
    {
        var n = seeds * prompts.Count;
        if (clips.Length != n * Per) throw new ArgumentException($"expected {n} clips of {Per} values (got {clips.Length} values)");
        var threshold = RealDataDynamicThreshold;
        double shape = 0, axisRight = 0, still = 0, negative = 0, positive = 0, speed = 0;
        var flows = new double[n];
        var speeds = new double[n];
        for (var i = 0; i < n; i++)
        {
            var clip = clips.AsSpan(i * Per, Per);
            var words = prompts[i % prompts.Count].Split(' ');
            flows[i] = MeanFlow(clip);
            speeds[i] = Speed(clip);
            if (MotionReader.Read(clip).Shape == words[0]) shape++;
            if (speeds[i] <= threshold) { still++; continue; }
            var (vx, vy) = MotionReader.Velocity(clip);
            var (along, across) = words[1] == "horizontal" ? (vx, vy) : (vy, vx);
            if (Math.Abs(along) >= Math.Abs(across)) axisRight++;
            if (along < 0) negative++; else positive++;
            speed += Math.Sqrt(vx * vx + vy * vy);
        }
        var moving = n - still;
        var shares = (Still: still / n, Negative: negative / n, Positive: positive / n);
        var tv = 0.5 * (Math.Abs(shares.Still - DataShares.Still) + Math.Abs(shares.Negative - DataShares.Negative) + Math.Abs(shares.Positive - DataShares.Positive));
        var diversity = Diversity(clips, prompts, seeds);
        return new FreeMotionMetrics(prompts.Count, seeds, shape / n, moving == 0 ? double.NaN : axisRight / moving,
            flows.Average(), OpticalFlow.DynamicDegree(speeds, threshold), threshold,
            shares.Still, shares.Negative, shares.Positive, tv,
            diversity, diversity / DataDiversity.Value, moving == 0 ? 0 : speed / moving);
    }

    /// <summary>The per-prompt spread of centroid velocities across seeds, sqrt(var vx + var vy), averaged over prompts.</summary>
    public static double Diversity(float[] clips, IReadOnlyList<string> prompts, int seeds)
    {
        if (seeds < 2) return double.NaN;
        return Enumerable.Range(0, prompts.Count).Average(p =>
        {
            var v = Enumerable.Range(0, seeds).Select(s => MotionReader.Velocity(clips.AsSpan((s * prompts.Count + p) * Per, Per))).ToArray();
            var mx = v.Average(x => x.Vx);
            var my = v.Average(x => x.Vy);
            return Math.Sqrt(v.Sum(x => (x.Vx - mx) * (x.Vx - mx) + (x.Vy - my) * (x.Vy - my)) / (seeds - 1));
        });
    }

    private static double Speed(ReadOnlySpan<float> clip)
    {
        var (vx, vy) = MotionReader.Velocity(clip);
        return Math.Sqrt(vx * vx + vy * vy);
    }

    private static double MeanFlow(ReadOnlySpan<float> clip) => OpticalFlow.MeanAbsoluteFlow(clip, MotionTask.Frames, MotionTask.Size, MotionTask.Size);
}
