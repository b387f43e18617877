using PhasedDmd.Data;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Prompt following and motion of a motion model, read with <see cref="MotionReader"/> from the
/// 16 evaluation prompts × seeds. The data's speeds are uniform in [0.25, 1.25] px/frame (mean 0.75).
/// Motion is also measured without the reader, by optical flow (<see cref="OpticalFlow"/>): the
/// mean flow per clip (paper Table 3's mean absolute optical flow) and the dynamic degree, the
/// fraction of clips moving faster than a threshold calibrated on real clips.
/// </summary>
public sealed record MotionMetrics(
    int Prompts, int SeedsPerPrompt,
    double ShapeAccuracy, double DirectionAccuracy, double MeanSpeed, double SpeedSpreadPerPrompt, double MeanShapeMatch,
    double MeanAbsoluteFlow, double DynamicDegree, double DynamicThreshold)
{
    /// <summary>The dynamic-degree threshold from 256 real clips (seed 0), computed once.</summary>
    public static double RealDataDynamicThreshold => CalibratedThreshold.Value;

    private static readonly Lazy<double> CalibratedThreshold = new(() =>
    {
        using var generator = PhasedDmd.Training.Runtime.NewGenerator(0);
        var per = MotionTask.Frames * MotionTask.Size * MotionTask.Size;
        var clip = new float[per];
        var flows = MotionTask.SampleAttributes(256, generator).Select(a =>
        {
            MotionTask.Render(a, clip);
            return OpticalFlow.MeanAbsoluteFlow(clip, MotionTask.Frames, MotionTask.Size, MotionTask.Size);
        }).ToList();
        return OpticalFlow.CalibrateDynamicThreshold(flows);
    });

    /// <summary>Clips laid out row-major as [seeds × prompts, 8, 1, 16, 16].</summary>
    public static MotionMetrics FromSamples(float[] clips, IReadOnlyList<string> prompts, int seeds)
    {
        var per = MotionTask.Frames * MotionTask.Size * MotionTask.Size;
        var readings = Enumerable.Range(0, seeds * prompts.Count).Select(i => MotionReader.Read(clips.AsSpan(i * per, per))).ToList();
        var expected = Enumerable.Range(0, seeds).SelectMany(_ => prompts.Select(p => p.Split(' '))).ToList();
        double shape = 0, direction = 0;
        for (var i = 0; i < readings.Count; i++)
        {
            shape += readings[i].Shape == expected[i][0] ? 1 : 0;
            direction += readings[i].Direction == expected[i][2] ? 1 : 0;
        }
        var spread = Enumerable.Range(0, prompts.Count).Average(p =>
        {
            var v = Enumerable.Range(0, seeds).Select(s => readings[s * prompts.Count + p].Speed).ToArray();
            var m = v.Average();
            return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / Math.Max(1, v.Length - 1));
        });
        var flows = Enumerable.Range(0, seeds * prompts.Count)
            .Select(i => OpticalFlow.MeanAbsoluteFlow(clips.AsSpan(i * per, per), MotionTask.Frames, MotionTask.Size, MotionTask.Size)).ToList();
        var threshold = RealDataDynamicThreshold;
        return new MotionMetrics(prompts.Count, seeds, shape / readings.Count, direction / readings.Count,
            readings.Average(r => r.Speed), spread, readings.Average(r => r.Match),
            flows.Average(), OpticalFlow.DynamicDegree(flows, threshold), threshold);
    }

    /// <summary>
    /// Whether two sets of clips drawn from the same noises keep their composition (paper Fig. 5):
    /// the fraction of pairs whose first-frame centroid moved less than 1 px and whose direction is
    /// the same, and the mean first-frame centroid shift in pixels.
    /// </summary>
    public static (double SameLayout, double MeanCentreShift) LayoutAgreement(float[] a, float[] b)
    {
        var per = MotionTask.Frames * MotionTask.Size * MotionTask.Size;
        if (a.Length != b.Length || a.Length % per != 0) throw new ArgumentException("LayoutAgreement: two equally long sets of clips are needed");
        var n = a.Length / per;
        var same = 0;
        var shift = 0.0;
        for (var i = 0; i < n; i++)
        {
            var (ax, ay) = MotionReader.Centroid(a.AsSpan(i * per, per), 0);
            var (bx, by) = MotionReader.Centroid(b.AsSpan(i * per, per), 0);
            var d = Math.Sqrt((ax - bx) * (ax - bx) + (ay - by) * (ay - by));
            if (d < 1 && MotionReader.Read(a.AsSpan(i * per, per)).Direction == MotionReader.Read(b.AsSpan(i * per, per)).Direction) same++;
            shift += d;
        }
        return (same / (double)n, shift / n);
    }
}
