using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Sampling;
using Xunit;

namespace PhasedDmd.Tests.Evaluation;

/// <summary>The teachers shipped under assets/ load (hash-verified) and render their prompts.</summary>
[Collection(SerialCollection.Name)]
public class ShippedTeacherTests
{
    /// <summary>Loads assets/teachers/<paramref name="task"/> and samples every evaluation prompt once with its own sampler settings (40 steps, CFG 3).</summary>
    private static float[] SampleEveryPrompt(string task, IReadOnlyList<string> prompts)
    {
        using var model = LoadedModel.Load(Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", task));
        Assert.Equal(task, model.Card.Task.Name);
        Assert.NotNull(model.Network);
        using var samples = ModelSampling.SamplePromptGrid(model, prompts, 1, new SampleOptions(Seed: 5));
        return samples.data<float>().ToArray();
    }

    [Fact]
    public void The_shipped_motion_teacher_moves_its_shapes_the_way_the_prompt_says()
    {
        var prompts = new MotionTask().EvaluationPrompts;
        var m = MotionMetrics.FromSamples(SampleEveryPrompt("motion", prompts), prompts, 1);
        Assert.True(m.DirectionAccuracy >= 0.9, $"direction accuracy {m.DirectionAccuracy}");
        Assert.True(m.ShapeAccuracy >= 0.75, $"shape accuracy {m.ShapeAccuracy}");
    }

    [Fact]
    public void The_shipped_motion_free_teacher_draws_still_and_moving_clips_in_the_datas_proportions()
    {
        var prompts = new FreeMotionTask().EvaluationPrompts;
        using var model = LoadedModel.Load(Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "motion-free"));
        using var samples = ModelSampling.SamplePromptGrid(model, prompts, 16, new SampleOptions(Seed: 5), sharedNoise: false);
        var m = FreeMotionMetrics.FromSamples(samples.data<float>().ToArray(), prompts, 16);
        Assert.InRange(m.DynamicDegree, 0.6, 0.9);                  // data 0.75; 128 clips, each from its own noise: binomial sd 0.04
        Assert.True(m.DirectionTv < 0.12, $"direction TV {m.DirectionTv:F3}");
        Assert.True(m.ShapeAccuracy >= 0.8, $"shape accuracy {m.ShapeAccuracy:F3}");
    }

    [Fact]
    public void The_shipped_glyphs_teacher_draws_the_character_and_colours_the_prompt_names()
    {
        // read back with the task's own renderer (chance: 1/15 characters, 1/30 colour pairs)
        var prompts = new GlyphsTask().EvaluationPrompts;
        var m = GlyphMetrics.FromSamples(SampleEveryPrompt("glyphs", prompts), prompts, 1);
        Assert.True(m.CharacterAccuracy >= 0.8, $"character accuracy {m.CharacterAccuracy}");
        Assert.True(m.ColourAccuracy >= 0.9, $"colour accuracy {m.ColourAccuracy}");
    }
}
