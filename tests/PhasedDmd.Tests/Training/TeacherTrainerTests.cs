using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using Xunit;

namespace PhasedDmd.Tests.Training;

[Collection(SerialCollection.Name)]
public class TeacherTrainerTests
{
    private static TeacherConfig Tiny(string mixtureFile, int seed = 0) => new()
    {
        Task = "mixture",
        MixtureFile = mixtureFile,
        Hidden = 64,
        Layers = 3,
        Iterations = 1500,
        BatchSize = 256,
        LearningRate = 3e-3,
        EmaDecay = 0.99,
        Seed = seed,
        LogEvery = 100,
    };

    private static string TwoModes()
    {
        var path = Path.Combine(TestUtil.TempDir(), "two.json");
        File.WriteAllText(path, """{"means": [[-2], [2]], "stds": [0.3, 0.3], "weights": [0.7, 0.3]}""");
        return path;
    }

    [Fact]
    public void A_small_teacher_learns_a_two_mode_mixture_and_writes_a_complete_model_directory()
    {
        var dir = TestUtil.TempDir();
        var mixtureFile = TwoModes();
        TeacherTrainer.Train(Tiny(mixtureFile), dir);
        foreach (var f in new[] { ModelDirectory.CardFile, ModelDirectory.WeightsFile, ModelDirectory.RunConfigFile, ModelDirectory.LogFile })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "tb")));
        var (card, model) = ModelDirectory.Load(dir);
        using var samples = ModelSampling.Sample(card, model, new SampleOptions(N: 4000, Seed: 1));
        var m = MixtureMetrics.Evaluate(card.Task.Mixture!, samples);
        Assert.Equal(1.0, m.ModeCoverage);
        Assert.True(m.WeightTv < 0.08, $"TV {m.WeightTv}");
        Assert.True(m.OffModeFraction < 0.1, $"off-mode {m.OffModeFraction}");
        // The saved run config replays: it parses back to the same config.
        Assert.Equal(Tiny(mixtureFile), Json.Read<TeacherConfig>(Path.Combine(dir, ModelDirectory.RunConfigFile), "config"));
    }

    [Fact]
    public void Same_seed_gives_identical_weights_and_another_seed_does_not()
    {
        var mixture = TwoModes();
        string a = TestUtil.TempDir(), b = TestUtil.TempDir(), c = TestUtil.TempDir();
        TeacherTrainer.Train(Tiny(mixture) with { Iterations = 50, Threads = 1 }, a);
        TeacherTrainer.Train(Tiny(mixture) with { Iterations = 50, Threads = 1 }, b);
        TeacherTrainer.Train(Tiny(mixture, seed: 1) with { Iterations = 50, Threads = 1 }, c);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, ModelDirectory.WeightsFile)), File.ReadAllBytes(Path.Combine(b, ModelDirectory.WeightsFile)));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(a, ModelDirectory.WeightsFile)), File.ReadAllBytes(Path.Combine(c, ModelDirectory.WeightsFile)));
    }

    [Theory]
    [InlineData("task", "nope")]
    [InlineData("iterations", "0")]
    [InlineData("learningRate", "-1")]
    [InlineData("batchSize", "0")]
    [InlineData("emaDecay", "1")]
    [InlineData("schedule", "linear")]
    [InlineData("sampleSolver", "rk45")]
    [InlineData("dataStd", "vp-cosine")]
    public void Invalid_fields_are_named_in_the_error(string field, string value)
    {
        var config = field switch
        {
            "task" => new TeacherConfig { Task = value },
            "iterations" => new TeacherConfig { Iterations = int.Parse(value) },
            "learningRate" => new TeacherConfig { LearningRate = double.Parse(value) },
            "batchSize" => new TeacherConfig { BatchSize = int.Parse(value) },
            "emaDecay" => new TeacherConfig { EmaDecay = double.Parse(value) },
            "schedule" => new TeacherConfig { Schedule = value },
            "dataStd" => new TeacherConfig { Task = "glyphs", DataStd = 1, Schedule = value },   // preconditioning is derived for flow only
            _ => new TeacherConfig { SampleSolver = value },
        };
        var e = Assert.Throws<InputException>(config.Validate);
        Assert.StartsWith(field + ":", e.Message);
    }

    [Fact]
    public void Learning_rate_warms_up_then_decays_to_the_floor()
    {
        var c = new TeacherConfig { LearningRate = 1.0, WarmupIterations = 10, Iterations = 110, MinLearningRateFraction = 0.1 };
        Assert.Equal(0.1, TeacherTrainer.LearningRateAt(c, 1), 12);
        Assert.Equal(1.0, TeacherTrainer.LearningRateAt(c, 10), 12);
        Assert.Equal(0.55, TeacherTrainer.LearningRateAt(c, 60), 12);
        Assert.Equal(0.1, TeacherTrainer.LearningRateAt(c, 110), 12);
    }
}
