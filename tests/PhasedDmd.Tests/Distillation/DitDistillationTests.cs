using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.Evaluation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Distillation;

/// <summary>The procedural tasks go through the same teacher training, distillation and sampling as the MLP tasks.</summary>
[Collection(SerialCollection.Name)]
public class DitDistillationTests
{
    private static TeacherConfig TinyTeacher(string task) => TeacherConfig.ForTask(task) with
    {
        Width = 16, Depth = 1, Heads = 2, Patch = 4, Iterations = 20, BatchSize = 8, WarmupIterations = 2, LogEvery = 5, CheckpointEvery = 0,
    };

    [Theory]
    [InlineData("glyphs", "phased", 4, 2, ExpertKind.Lora)]
    [InlineData("motion", "phased", 4, 2, ExpertKind.Full)]
    [InlineData("glyphs", "sgts", 4, 1, ExpertKind.Full)]
    [InlineData("motion", "dmd", 1, 1, ExpertKind.Full)]
    public void A_tiny_dit_teacher_trains_and_distils_end_to_end(string task, string method, int steps, int phases, ExpertKind experts)
    {
        var root = TestUtil.TempDir();
        var teacherDir = Path.Combine(root, "teacher");
        var card = TeacherTrainer.Train(TinyTeacher(task), teacherDir);
        Assert.IsType<DitSpec>(card.Network);
        Assert.Equal(3.0, card.Sampling.Cfg);
        var losses = File.ReadAllLines(Path.Combine(teacherDir, ModelDirectory.LogFile));
        Assert.Equal(1 + 20 / 5, losses.Length);   // header + one line every 5 iterations

        var (teacherCard, teacher) = ModelDirectory.Load(teacherDir);
        var config = new DistillConfig
        {
            Method = method, Steps = steps, Phases = phases, Experts = experts, LoraRank = 2, IterationsPerPhase = 2, BatchSize = 4,
            FakeUpdatesPerGeneratorUpdate = 1, TeacherCfg = 2.0, LogEvery = 1, CheckpointEvery = 0,
        };
        var studentDir = Path.Combine(root, "student");
        Dictionary<string, Tensor> before;
        var distiller = new Distiller(config, teacherCard, teacher);
        before = distiller.Student.Expert(phases).state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        distiller.Run(studentDir);
        // the last expert was trained: some of its weights moved
        var moved = distiller.Student.Expert(phases).state_dict().Any(kv => TestUtil.MaxAbs(kv.Value, before[kv.Key]) > 0);
        Assert.True(moved);

        using var student = LoadedModel.Load(studentDir);
        using var samples = ModelSampling.Sample(student, new SampleOptions(N: 3));
        Assert.Equal(new long[] { 3 }.Concat(teacherCard.Network.SampleShape).ToArray(), samples.shape);
        Assert.True(samples.isfinite().all().item<bool>());
    }

    [Fact]
    public void Sampling_a_text_to_video_model_writes_a_seed_by_prompt_grid_and_an_animation()
    {
        var root = TestUtil.TempDir();
        var teacherDir = Path.Combine(root, "teacher");
        TeacherTrainer.Train(TinyTeacher("motion") with { Iterations = 2 }, teacherDir);
        var png = Path.Combine(root, "grid.png");
        var code = PhasedDmd.Cli.PhasedDmdApp.Run(["sample", "--model", teacherDir, "--steps", "2", "--seeds", "3",
            "--prompt", "square moving left", "--prompt", "circle moving up", "--out", png]);
        Assert.Equal(0, code);
        using var grid = SkiaSharp.SKBitmap.Decode(png);
        // 3 rows of 16·3-pixel-high cells and 2 columns of 8-frame strips, plus gaps and a title bar
        Assert.Equal(2 + 2 * (8 * 16 * 3 + 7 + 2), grid.Width);
        Assert.Equal(14 + 2 + 3 * (16 * 3 + 2), grid.Height);
        var apng = Path.ChangeExtension(png, ".apng");
        Assert.Equal(8, PhasedDmd.Plotting.AnimatedPng.Chunks(File.ReadAllBytes(apng)).Count(c => c.Type == "fcTL"));
        // the same seed row uses the same noise for every prompt, and a different seed differs
        var (card, model) = ModelDirectory.Load(teacherDir);
        using (model)
        using (var loaded = new LoadedModel { Card = card, Network = model })
        using (var samples = ModelSampling.SamplePromptGrid(loaded, ["square moving left", "square moving left"], 2, new SampleOptions(Steps: 2)))
        {
            Assert.Equal(0.0, TestUtil.MaxAbs(samples[0], samples[1]));
            Assert.True(TestUtil.MaxAbs(samples[0], samples[2]) > 1e-3);
            // without shared rows (motion-free's evaluation) every cell has its own noise, still reproducibly
            using var own = ModelSampling.SamplePromptGrid(loaded, ["square moving left", "square moving left"], 2, new SampleOptions(Steps: 2), sharedNoise: false);
            using var again = ModelSampling.SamplePromptGrid(loaded, ["square moving left", "square moving left"], 2, new SampleOptions(Steps: 2), sharedNoise: false);
            Assert.True(TestUtil.MaxAbs(own[0], own[1]) > 1e-3);
            Assert.Equal(0.0, TestUtil.MaxAbs(own, again));
        }
        Assert.False(new FreeMotionTask().SharesNoiseAcrossPrompts);
        Assert.True(new GlyphsTask().SharesNoiseAcrossPrompts && new MotionTask().SharesNoiseAcrossPrompts);
        Assert.Equal(2, PhasedDmd.Cli.PhasedDmdApp.Run(["sample", "--model", teacherDir, "--prompt", "hexagon moving left", "--out", png]));
    }
    [Fact]
    public void The_denoising_curve_recovers_barely_noised_images_and_not_pure_noise_with_an_untrained_teacher()
    {
        // An untrained teacher's velocity is small noise: started at t₀ = 0.01 the images move by
        // about 1% and still read as the characters they were; started at t₀ = 1 nothing of the
        // image is left, so the reader is at chance (1 in 15 characters).
        var teacherDir = Path.Combine(TestUtil.TempDir(), "teacher");
        TeacherTrainer.Train(TinyTeacher("glyphs") with { Iterations = 1 }, teacherDir);
        using var model = LoadedModel.Load(teacherDir);
        var curve = PhasedDmd.Evaluation.GlyphMetrics.DenoisingCurve(model, [0.01, 1.0], samples: 64, seed: 3);
        Assert.Equal([0.01, 1.0], curve.Select(p => p.StartTime));
        Assert.True(curve[0].CharacterAccuracy > 0.95, $"t0 = 0.01: {curve[0].CharacterAccuracy}");
        Assert.True(curve[0].ColourAccuracy > 0.95, $"t0 = 0.01 colours: {curve[0].ColourAccuracy}");
        Assert.True(curve[1].CharacterAccuracy < 0.3, $"t0 = 1: {curve[1].CharacterAccuracy}");
        Assert.Throws<InputException>(() => PhasedDmd.Evaluation.GlyphMetrics.DenoisingCurve(model, [0.5, 1.5], 8, 0));
        Assert.Throws<InputException>(() => PhasedDmd.Evaluation.GlyphMetrics.DenoisingCurve(model, [0.0], 8, 0));
    }
    [Fact]
    public void Eval_adds_the_encoder_measures_and_refuses_an_encoder_of_another_task()
    {
        var root = TestUtil.TempDir();
        var teacherDir = Path.Combine(root, "teacher");
        TeacherTrainer.Train(TinyTeacher("motion") with { Iterations = 1 }, teacherDir);
        var encoderDir = Path.Combine(root, "encoder");
        PhasedDmd.Evaluation.EncoderTraining.Train(new PhasedDmd.Evaluation.EncoderTrainingConfig("motion", Iterations: 5, BatchSize: 8, Threads: 1), encoderDir);
        var metrics = Path.Combine(root, "m.json");
        Assert.Equal(0, PhasedDmd.Cli.PhasedDmdApp.Run(["eval", "--model", teacherDir, "--steps", "2", "--encoder", encoderDir, "--out", metrics]));
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(metrics));
        Assert.True(doc.RootElement.TryGetProperty("direction_accuracy", out _));
        var f = doc.RootElement.GetProperty("features");
        foreach (var key in new[] { "feature_cosine", "real_feature_cosine", "perceptual", "real_perceptual", "composition", "frechet_to_real", "frechet_real_floor" })
            Assert.True(f.TryGetProperty(key, out _), key);
        Assert.InRange(f.GetProperty("feature_cosine").GetDouble(), -1, 1);

        var glyphEncoder = Path.Combine(root, "glyph-encoder");
        PhasedDmd.Evaluation.EncoderTraining.Train(new PhasedDmd.Evaluation.EncoderTrainingConfig("glyphs", Iterations: 1, BatchSize: 4, Threads: 1), glyphEncoder);
        Assert.Equal(2, PhasedDmd.Cli.PhasedDmdApp.Run(["eval", "--model", teacherDir, "--steps", "2", "--encoder", glyphEncoder, "--out", metrics]));
    }
}
