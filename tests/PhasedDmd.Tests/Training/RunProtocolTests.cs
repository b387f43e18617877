using PhasedDmd.Distillation;
using PhasedDmd.Tests.Distillation;
using PhasedDmd.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;

namespace PhasedDmd.Tests.Training;

/// <summary>The data-parallel seam with today's single implementation: rank gates, gradient averaging points, per-rank streams.</summary>
[Collection(SerialCollection.Name)]
public class RunProtocolTests(SmallTeacherFixture fixture) : IClassFixture<SmallTeacherFixture>
{
    /// <summary>A stand-in process group: records every call, averages nothing.</summary>
    private sealed class RecordingSync(int rank, int worldSize, bool finite = true) : IGradientSync
    {
        public int Rank => rank;
        public int WorldSize => worldSize;
        public List<int> AveragedSizes { get; } = [];
        public int FiniteVotes { get; private set; }
        public void AverageGradients(IReadOnlyList<Parameter> parameters) => AveragedSizes.Add(parameters.Count);
        public bool AllFinite(bool localFinite) { FiniteVotes++; return localFinite && finite; }
        public bool AnyTrue(bool local) => local;
        public byte[][] AllGather(byte[] local) => [.. Enumerable.Repeat(local, worldSize)];
        public void RequireIdentical(IReadOnlyList<Parameter> parameters, string what) { }
    }

    private static DistillConfig Tiny => new()
    {
        Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 3, BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 2, LogEvery = 1, CheckpointEvery = 2,
    };

    [Fact]
    public void Gradients_are_averaged_and_finiteness_agreed_before_every_optimizer_step()
    {
        var (card, teacher) = fixture.Load();
        var sync = new RecordingSync(0, 1);
        var distiller = new Distiller(Tiny, card, teacher, sync);
        distiller.Run(TestUtil.TempDir());
        // 2 phases × 3 updates, each 2 fake-score steps and 1 generator step: every step averages all its parameters first.
        Assert.Equal(6 * 3, sync.AveragedSizes.Count);
        Assert.All(sync.AveragedSizes, n => Assert.Equal(distiller.Student.Expert(1).parameters().Count(), n));
        Assert.Equal(6 * 3, sync.FiniteVotes);
    }

    [Fact]
    public void Only_rank_zero_writes_the_run_directory()
    {
        var (card, teacher) = fixture.Load();
        var dir = Path.Combine(TestUtil.TempDir(), "rank1");
        var student = new Distiller(Tiny, card, teacher, new RecordingSync(1, 2)).Run(dir);
        Assert.Equal("student", student.Role);
        Assert.False(Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any(), "rank 1 wrote into the run directory");
    }

    [Fact]
    public void A_rank_that_votes_non_finite_makes_every_rank_skip_and_the_run_stop()
    {
        var (card, teacher) = fixture.Load();
        var config = Tiny with { IterationsPerPhase = 20, MaxNonFiniteInARow = 4, CheckpointEvery = 0 };
        var e = Assert.Throws<DivergenceException>(() => new Distiller(config, card, teacher, new RecordingSync(0, 1, finite: false)).Run(TestUtil.TempDir()));
        Assert.Contains("phase 1 at iteration 4", e.Message);
    }

    [Fact]
    public void A_batch_that_does_not_split_over_the_processes_is_refused()
    {
        var (card, teacher) = fixture.Load();
        var e = Assert.Throws<InputException>(() => new Distiller(Tiny, card, teacher, new RecordingSync(0, 3)));
        Assert.StartsWith("batchSize:", e.Message);
        Assert.Contains("32", e.Message);
        Assert.Contains("3 processes", e.Message);
    }

    [Fact]
    public void Rank_zero_draws_the_seeds_own_stream_and_other_ranks_independent_ones()
    {
        static float[] Draw(torch.Generator g) { using (g) using (var t = torch.rand(64, generator: g)) return t.data<float>().ToArray(); }
        Assert.Equal(Draw(Runtime.NewGenerator(5)), Draw(Runtime.RankGenerator(5, 0)));
        Assert.Equal(Draw(Runtime.RankGenerator(5, 1)), Draw(Runtime.RankGenerator(5, 1)));
        var streams = Enumerable.Range(0, 4).Select(r => Draw(Runtime.RankGenerator(5, r))).ToList();
        for (var a = 0; a < 4; a++)
            for (var b = a + 1; b < 4; b++)
                Assert.NotEqual(streams[a], streams[b]);
        Assert.NotEqual(Runtime.RankSeed(5, 1), Runtime.RankSeed(6, 1));
    }
}
