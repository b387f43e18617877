using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Sampling;
using Xunit;

namespace PhasedDmd.Tests.Evaluation;

/// <summary>The teachers shipped under assets/ load (hash-verified) and render their prompts.</summary>
[Collection(SerialCollection.Name)]
public class ShippedTeacherTests
{
    [Fact]
    public void The_shipped_motion_teacher_moves_its_shapes_the_way_the_prompt_says()
    {
        using var model = LoadedModel.Load(Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "motion"));
        Assert.Equal("motion", model.Card.Task.Name);
        Assert.NotNull(model.Network);
        // every evaluation prompt once, with the teacher's own sampler settings (40 steps, CFG 3)
        var prompts = new MotionTask().EvaluationPrompts;
        using var clips = ModelSampling.SamplePromptGrid(model, prompts, 1, new SampleOptions(Seed: 5));
        var m = MotionMetrics.FromSamples(clips.data<float>().ToArray(), prompts, 1);
        Assert.True(m.DirectionAccuracy >= 0.9, $"direction accuracy {m.DirectionAccuracy}");
        Assert.True(m.ShapeAccuracy >= 0.75, $"shape accuracy {m.ShapeAccuracy}");
    }

    [Fact]
    public void The_shipped_glyphs_teacher_draws_the_character_and_colours_the_prompt_names()
    {
        using var model = LoadedModel.Load(Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "glyphs"));
        Assert.Equal("glyphs", model.Card.Task.Name);
        Assert.NotNull(model.Network);
        // every evaluation prompt once, read back with the task's own renderer (chance: 1/15 characters, 1/30 colour pairs)
        var prompts = new GlyphsTask().EvaluationPrompts;
        using var images = ModelSampling.SamplePromptGrid(model, prompts, 1, new SampleOptions(Seed: 5));
        var m = GlyphMetrics.FromSamples(images.data<float>().ToArray(), prompts, 1);
        Assert.True(m.CharacterAccuracy >= 0.8, $"character accuracy {m.CharacterAccuracy}");
        Assert.True(m.ColourAccuracy >= 0.9, $"colour accuracy {m.ColourAccuracy}");
    }
}
