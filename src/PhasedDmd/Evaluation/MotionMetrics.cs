using PhasedDmd.Data;
using PhasedDmd.Sampling;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Prompt following and motion of a motion model, read with <see cref="MotionReader"/> from the
/// 16 evaluation prompts × seeds. The data's speeds are uniform in [0.25, 1.25] px/frame (mean 0.75).
/// </summary>
public sealed record MotionMetrics(
    int Prompts, int SeedsPerPrompt,
    double ShapeAccuracy, double DirectionAccuracy, double MeanSpeed, double SpeedSpreadPerPrompt, double MeanShapeMatch)
{
    public static MotionMetrics Evaluate(LoadedModel model, int seeds, SampleOptions options)
    {
        var prompts = new MotionTask().EvaluationPrompts;
        using var samples = ModelSampling.SamplePromptGrid(model, prompts, seeds, options);
        return FromSamples(samples.data<float>().ToArray(), prompts, seeds);
    }

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
        return new MotionMetrics(prompts.Count, seeds, shape / readings.Count, direction / readings.Count,
            readings.Average(r => r.Speed), spread, readings.Average(r => r.Match));
    }
}
