using PhasedDmd.Distillation;
using PhasedDmd.IO;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Distillation;

/// <summary>The objective seam from outside the core: objectives defined here are registered by name and distil.</summary>
[Collection(SerialCollection.Name)]
public class ObjectiveSeamTests(SmallTeacherFixture fixture) : IClassFixture<SmallTeacherFixture>
{
    /// <summary>A fake-score objective with no loss: the fake score stays the teacher, so the DMD gradient (their difference) is zero.</summary>
    private sealed class FrozenFake : IFakeScoreObjective
    {
        public static readonly FrozenFake Instance = new();
        public string Name => "test-frozen-fake";
        public Tensor PerSampleLoss(FakeScoreBatch batch) => (batch.Prediction * 0).flatten(1).sum(1);
    }

    /// <summary>A generator objective that hands every batch to the built-in normalised one and counts the calls.</summary>
    private sealed class CountingNormalized : IGeneratorObjective
    {
        public static readonly CountingNormalized Instance = new();
        public int Calls;
        public string Name => "test-counting-normalized";
        public (Tensor Loss, Tensor Scale) Loss(GeneratorBatch batch)
        {
            Calls++;
            return Objectives.Normalized.Loss(batch);
        }
    }

    private static DistillConfig Tiny => new() { Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 4, BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 2, LogEvery = 1, GeneratorEma = 0 };

    private (Distiller Distiller, string Dir) Distil(DistillConfig config)
    {
        var (card, teacher) = fixture.Load();
        var dir = TestUtil.TempDir();
        var distiller = new Distiller(config, card, teacher);
        distiller.Run(dir);
        return (distiller, dir);
    }

    private static double MaxDifferenceFromTeacher(Distiller d, int k)
        => d.Student.Expert(k).parameters().Zip(d.Teacher.Network.parameters()).Max(p => TestUtil.MaxAbs(p.First, p.Second));

    [Fact]
    public void A_fake_score_objective_defined_here_is_the_one_the_distiller_trains_with()
    {
        Objectives.Register(FrozenFake.Instance);
        var (frozen, _) = Distil(Tiny with { FakeObjective = "test-frozen-fake" });
        var (trained, _) = Distil(Tiny);
        // frozen fake score = teacher ⇒ zero DMD gradient ⇒ the experts keep the teacher's weights; with Eq. 13 they move
        Assert.Equal(0.0, MaxDifferenceFromTeacher(frozen, 1));
        Assert.Equal(0.0, MaxDifferenceFromTeacher(frozen, 2));
        Assert.True(MaxDifferenceFromTeacher(trained, 1) > 1e-4);
    }

    [Fact]
    public void A_generator_objective_defined_here_gets_the_same_batches_as_the_built_in_one()
    {
        Objectives.Register(CountingNormalized.Instance);
        var before = CountingNormalized.Instance.Calls;
        var (_, counted) = Distil(Tiny with { DmdLoss = "test-counting-normalized" });
        var (_, builtIn) = Distil(Tiny);
        Assert.Equal(8, CountingNormalized.Instance.Calls - before);   // one per generator update: 2 phases × 4
        TestUtil.AssertSameWeights(builtIn, counted);
    }

    [Fact]
    public void An_unknown_objective_is_an_error_naming_the_key_and_the_registered_ones()
    {
        var e = Assert.Throws<InputException>(() => (Tiny with { FakeObjective = "no-such" }).Validate());
        Assert.Contains("fakeObjective: unknown objective 'no-such'", e.Message);
        Assert.Contains("subinterval, naive", e.Message);
        e = Assert.Throws<InputException>(() => (Tiny with { DmdLoss = "no-such" }).Validate());
        Assert.Contains("dmdLoss", e.Message);
        Assert.Throws<ArgumentException>(() => Objectives.Register(new RenamedFake()));
    }

    private sealed class RenamedFake : IFakeScoreObjective
    {
        public string Name => "naive";
        public Tensor PerSampleLoss(FakeScoreBatch batch) => batch.Prediction.flatten(1).sum(1);
    }
}
