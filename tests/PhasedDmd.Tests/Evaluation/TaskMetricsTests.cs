using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Evaluation;

/// <summary>The task metrics applied to the true data distribution give the values the data implies.</summary>
public class TaskMetricsTests
{
    [Fact]
    public void Real_glyph_data_scores_perfectly_and_is_diverse()
    {
        var task = new GlyphsTask();
        const int seeds = 8;
        using var g = Runtime.NewGenerator(11);
        var prompts = task.EvaluationPrompts.Select(GlyphReader.ParsePrompt).ToList();
        var attributes = GlyphsTask.SampleAttributes(seeds * prompts.Count, g, Enumerable.Range(0, seeds).SelectMany(_ => prompts).ToList());
        using var images = GlyphsTask.RenderBatch(attributes);
        var m = GlyphMetrics.FromSamples(images.data<float>().ToArray(), task.EvaluationPrompts, seeds);
        Assert.Equal((1.0, 1.0, 1.0, 1.0), (m.CharacterAccuracy, m.ColourAccuracy, m.AllAttributesAccuracy, m.MeanGlyphMatch));
        // 3 × 7 equally likely positions: 8 seeds show 21 (1 − (20/21)^8) ≈ 6.78 distinct layouts on average.
        Assert.InRange(m.DistinctLayoutsPerPrompt, 6.3, 7.2);
    }

    [Fact]
    public void Real_motion_data_reads_back_its_speed_distribution()
    {
        var task = new MotionTask();
        const int seeds = 8;
        using var g = Runtime.NewGenerator(12);
        // Clips for the evaluation prompts, row-major [seed][prompt], built from random clips re-labelled per prompt.
        var clips = new List<MotionAttributes>();
        for (var s = 0; s < seeds; s++)
            foreach (var p in task.EvaluationPrompts)
            {
                var w = p.Split(' ');
                var a = MotionTask.SampleAttributes(64, g).First(x => x.Direction == w[2]);
                clips.Add(a with { Shape = w[0] });
            }
        using var pixels = MotionTask.RenderBatch(clips);
        var m = MotionMetrics.FromSamples(pixels.data<float>().ToArray(), task.EvaluationPrompts, seeds);
        Assert.Equal(1.0, m.DirectionAccuracy);
        Assert.True(m.ShapeAccuracy >= 0.95, $"{m.ShapeAccuracy}");
        Assert.Equal(0.75, m.MeanSpeed, 0.1);                  // uniform on [0.25, 1.25]
        Assert.Equal(1 / Math.Sqrt(12), m.SpeedSpreadPerPrompt, 0.08);
        Assert.Equal(m.MeanSpeed, m.MeanAbsoluteFlow, 0.1);     // optical flow agrees with the centroid track
        Assert.True(m.DynamicDegree >= 0.95, $"dynamic degree of real data {m.DynamicDegree}");
        Assert.InRange(m.DynamicThreshold, 0.05, 0.25);

        // The same clips with every frame frozen to the first: nothing moves.
        var frozen = pixels.data<float>().ToArray();
        var per = MotionTask.Frames * MotionTask.Size * MotionTask.Size;
        var frame = MotionTask.Size * MotionTask.Size;
        for (var c = 0; c < frozen.Length / per; c++)
            for (var f = 1; f < MotionTask.Frames; f++)
                Array.Copy(frozen, c * per, frozen, c * per + f * frame, frame);
        var still = MotionMetrics.FromSamples(frozen, task.EvaluationPrompts, seeds);
        Assert.Equal(0, still.DynamicDegree);
        Assert.True(still.MeanAbsoluteFlow < 0.01, $"{still.MeanAbsoluteFlow}");
    }

    [Theory]
    [InlineData("glyphs", "character_accuracy", 1.0, 1.0)]
    [InlineData("motion", "direction_accuracy", 1.0, 1.0)]
    [InlineData("motion-free", "dynamic_degree", 0.69, 0.81)]   // a quarter still: 0.75 ± 2.2 binomial sd over 256 clips
    public void The_evaluation_protocol_measures_real_data_at_the_data_s_own_level(string task, string key, double low, double high)
    {
        var t = TaskRegistry.Find<IPromptGridTask>(task, "prompt-grid evaluation");
        using var evaluation = new PromptGridEvaluation(t, t.EvaluationPrompts(), t.Data.EvaluationSeeds, encoderDir: null);
        var real = PromptGridEvaluation.Flatten(evaluation.MeasureRealData(seed: 5));
        Assert.InRange(real[key], low, high);
    }
}
