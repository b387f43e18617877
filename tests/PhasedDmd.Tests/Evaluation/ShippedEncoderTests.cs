using PhasedDmd.Evaluation;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Evaluation;

/// <summary>The encoders under assets/ load (hash-verified) and read fresh real samples they never saw.</summary>
public class ShippedEncoderTests
{
    [Theory]
    [InlineData("glyphs")]
    [InlineData("motion")]
    public void The_shipped_encoder_reads_every_attribute_of_unseen_real_samples(string task)
    {
        var dir = Path.Combine(TestUtil.RepoRoot(), "assets", "encoders", task);
        var (card, encoder) = EncoderTraining.Load(dir);
        using (encoder)
        {
            Assert.Equal(task, card.Spec.Task);
            // a seed no training or validation run used
            var (accuracy, rmse) = EncoderTraining.Validate(encoder, 512, seed: 424242);
            foreach (var (name, value) in accuracy) Assert.True(value >= 0.95, $"{task} {name}: {value:F3}");
            foreach (var (name, value) in rmse) Assert.True(value <= 0.15, $"{task} {name}: RMSE {value:F3} (normalised)");

            // identical seeds are maximally similar in its embedding; real samples of a prompt are not
            var prompts = task == "glyphs" ? new PhasedDmd.Data.GlyphsTask().EvaluationPrompts : new PhasedDmd.Data.MotionTask().EvaluationPrompts;
            using var real = ((IPromptGridTask)card.Spec.Definition).RealGrid(prompts, 8, seed: 1);
            var m = EncoderMetrics.Evaluate(encoder, real, prompts, 8, seed: 1);
            Assert.True(m.FeatureCosine < 0.99, $"{m.FeatureCosine}");
            // two independent real grids are closer to each other than a real grid is to one with
            // every seed of a prompt replaced by its first seed (a collapsed generator)
            using var collapsed = real[arange(0, prompts.Count).repeat(8)];
            var c = EncoderMetrics.Evaluate(encoder, collapsed, prompts, 8, seed: 1);
            Assert.True(m.FrechetToReal < c.FrechetToReal, $"real {m.FrechetToReal:F1} vs collapsed {c.FrechetToReal:F1}");
            Assert.True(c.Composition.SpreadRatio < 0.05, $"{c.Composition.SpreadRatio}");
        }
    }
}
