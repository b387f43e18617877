using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Distillation;

/// <summary>A small ring8 teacher trained once for the distillation tests.</summary>
public sealed class SmallTeacherFixture
{
    public string Dir { get; } = Path.Combine(TestUtil.TempDir("pdmd-teacher"), "teacher");

    public SmallTeacherFixture()
    {
        TeacherTrainer.Train(new TeacherConfig { Task = "ring8", Hidden = 64, Layers = 3, Iterations = 400, BatchSize = 256, LogEvery = 100 }, Dir);
    }

    public (ModelCard, VelocityModel) Load() => ModelDirectory.Load(Dir);
}

[Collection(SerialCollection.Name)]
public class DistillerTests(SmallTeacherFixture fixture) : IClassFixture<SmallTeacherFixture>
{
    private static DistillConfig Tiny(string method, int steps = 4, int phases = 1) => new()
    {
        Method = method, Steps = steps, Phases = phases, IterationsPerPhase = 3, BatchSize = 32,
        FakeUpdatesPerGeneratorUpdate = 2, LogEvery = 1,
    };

    public static TheoryData<string, int, int, string, string> Methods => new()
    {
        { "dmd", 1, 1, "full", "analytic" },
        { "fewstep", 4, 1, "full", "analytic" },
        { "sgts", 4, 1, "full", "normalized" },
        { "phased", 4, 2, "full", "analytic" },
        { "phased", 4, 2, "lora", "normalized" },
        { "phased", 4, 4, "lora", "analytic" },
        { "phased", 4, 2, "full", "renoise" },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Every_method_runs_end_to_end_and_writes_a_loadable_student(string method, int steps, int phases, string experts, string loss)
    {
        var (card, teacher) = fixture.Load();
        var config = Tiny(method, steps, phases) with
        {
            Experts = experts == "lora" ? ExpertKind.Lora : ExpertKind.Full,
            DmdLoss = loss == "renoise" ? "analytic" : loss,
            Solver = loss == "renoise" ? RolloutSolver.Renoise : RolloutSolver.Euler,
        };
        var dir = TestUtil.TempDir();
        var distiller = new Distiller(config, card, teacher);
        distiller.Run(dir);
        using var loaded = LoadedModel.Load(dir);
        Assert.Equal(phases, loaded.Student!.ExpertCount);
        using var samples = ModelSampling.Sample(loaded, new SampleOptions(N: 64));
        Assert.Equal(new long[] { 64, 2 }, samples.shape);
        Assert.True(samples.isfinite().all().item<bool>());
        // The saved student reproduces the in-memory one exactly.
        using var again = ModelSampling.Sample(new LoadedModel { Card = distiller.StudentCard(), Student = distiller.Student }, new SampleOptions(N: 64));
        Assert.Equal(0.0, TestUtil.MaxAbs(samples, again));
        Assert.Equal(3 * phases + 1, File.ReadAllLines(Path.Combine(dir, ModelDirectory.LogFile)).Length);
    }

    [Fact]
    public void Training_phase_two_leaves_expert_one_untouched()
    {
        var (card, teacher) = fixture.Load();
        var first = TestUtil.TempDir();
        new Distiller(Tiny("phased", 4, 2) with { IterationsPerPhase = 2 }, card, teacher).Run(first);
        var (_, t2) = fixture.Load();
        var cont = new Distiller(Tiny("phased", 4, 2) with { InitFrom = first, StartPhase = 2, PhaseIterations = [1, 5] }, card, t2);
        var before = cont.Student.Expert(1).parameters().Select(p => p.detach().clone()).ToList();
        var beforeTwo = cont.Student.Expert(2).parameters().Select(p => p.detach().clone()).ToList();
        // Expert 1 comes from the earlier student, expert 2 starts afresh from the teacher.
        var (_, t3) = fixture.Load();
        using (t3)
        {
            var trained = new Distiller(Tiny("phased", 4, 2) with { InitFrom = first, StartPhase = 2 }, card, t3);
            Assert.Contains(trained.Student.Expert(1).parameters().Zip(t3.parameters()), pair => TestUtil.MaxAbs(pair.First, pair.Second) > 0);
            Assert.All(trained.Student.Expert(2).parameters().Zip(t3.parameters()), pair => Assert.Equal(0.0, TestUtil.MaxAbs(pair.First, pair.Second)));
        }
        cont.Run(TestUtil.TempDir());
        Assert.All(before.Zip(cont.Student.Expert(1).parameters()), pair => Assert.Equal(0.0, TestUtil.MaxAbs(pair.First, pair.Second)));
        Assert.Contains(beforeTwo.Zip(cont.Student.Expert(2).parameters()), pair => TestUtil.MaxAbs(pair.First, pair.Second) > 0);
    }

    [Fact]
    public void Lora_training_changes_only_adapters_and_merges_into_plain_weights()
    {
        var (card, teacher) = fixture.Load();
        var distiller = new Distiller(Tiny("phased", 4, 2) with { Experts = ExpertKind.Lora, LoraRank = 4 }, card, teacher);
        distiller.Run(TestUtil.TempDir());
        var expert = distiller.Student.Expert(1);
        var (_, fresh) = fixture.Load();
        foreach (var (name, p) in expert.named_parameters().Where(p => !p.name.Contains("lora_")))
            Assert.Equal(0.0, TestUtil.MaxAbs(p, fresh.state_dict()[name]));
        Assert.Contains(expert.named_parameters(), p => p.name.EndsWith("lora_B") && TestUtil.Scalar(p.parameter.abs().max()) > 0);
        // Merged export: plain experts with W + (α/r) B A compute the same velocities and samples.
        using var merged = distiller.Student.Merged(card.Network);
        Assert.Equal(ExpertKind.Full, merged.Spec.Experts);
        var x = torch.randn(10, 2);
        var t = torch.rand(10);
        Assert.True(TestUtil.MaxAbs(expert.Forward(x, t, null), merged.Expert(1).Forward(x, t, null)) < 1e-5);
        var z = torch.randn(50, 2);
        Assert.True(TestUtil.MaxAbs(distiller.Student.Sample(z, null), merged.Sample(z, null)) < 1e-4);
        Assert.DoesNotContain(merged.named_parameters(), p => p.name.Contains("lora_"));
    }

    [Theory]
    [InlineData("method", "magic", "unknown method")]
    [InlineData("steps", "3", "dmd is a one-step method")]
    [InlineData("phases", "2", "has a single expert")]
    [InlineData("boundaries", "0.6", "not an interior point")]
    [InlineData("margin", "0.3", "is empty")]
    public void Impossible_configs_are_refused_before_any_work(string field, string value, string message)
    {
        var config = field switch
        {
            "method" => new DistillConfig { Method = value },
            "steps" => new DistillConfig { Method = "dmd", Steps = int.Parse(value), Phases = 1 },
            "phases" => new DistillConfig { Method = "sgts", Phases = int.Parse(value) },
            "boundaries" => new DistillConfig { Boundaries = [double.Parse(value)] },
            _ => new DistillConfig { Interval = IntervalKind.Disjoint, Phases = 4, TimeMargin = double.Parse(value) },
        };
        Assert.Contains(message, Assert.Throws<InputException>(() => config.Validate()).Message);
    }
}
