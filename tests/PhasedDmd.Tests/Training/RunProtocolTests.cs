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
    public void A_run_written_before_a_config_key_existed_resumes_with_its_default_and_a_changed_run_is_still_refused()
    {
        // An interrupted run as an older version wrote it: run_config.json without the "precision" key, and checkpoints carrying
        // the hash of that text.
        var dir = Path.Combine(TestUtil.TempDir(), "student");
        var (card, teacher) = fixture.Load();
        using (var cancel = new CancellationTokenSource())
            Assert.Throws<OperationCanceledException>(() => new Distiller(Tiny, card, teacher).Run(dir, new RunOptions(Cancel: cancel.Token, Observers: [new CancelAt(2, cancel)])));
        var configPath = Path.Combine(dir, PhasedDmd.IO.ModelDirectory.RunConfigFile);
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        Assert.True(node.Remove("precision"));
        var older = node.ToJsonString(PhasedDmd.IO.Json.Options);
        File.WriteAllText(configPath, older);
        foreach (var checkpoint in new PhasedDmd.IO.CheckpointStore(Path.Combine(dir, "checkpoints")).List())
        {
            var progressPath = Path.Combine(checkpoint.Path, RunState.ProgressFile);
            File.WriteAllText(progressPath, File.ReadAllText(progressPath).Replace(RunState.Hash(Tiny), RunState.HashOfText(older)));
            var manifestPath = Path.Combine(checkpoint.Path, PhasedDmd.IO.CheckpointStore.ManifestFile);   // as that version would have recorded it
            var entries = System.Text.Json.JsonSerializer.Deserialize<List<PhasedDmd.IO.ManifestEntry>>(File.ReadAllText(manifestPath), PhasedDmd.IO.Json.Options)!
                .Select(m => m.Name == RunState.ProgressFile ? m with { Size = new FileInfo(progressPath).Length, Sha256 = PhasedDmd.IO.ModelDirectory.Sha256(progressPath) } : m).ToList();
            File.WriteAllText(manifestPath, System.Text.Json.JsonSerializer.Serialize(entries, PhasedDmd.IO.Json.Options));
        }
        Assert.NotEqual(RunState.Hash(Tiny), RunState.HashOfText(older));

        var changed = Tiny with { GeneratorLearningRate = Tiny.GeneratorLearningRate * 2 };
        var e = Assert.Throws<InputException>(() => new Distiller(changed, card, teacher).Run(dir, new RunOptions(Resume: true)));
        Assert.Contains("generatorLearningRate", e.Message);
        new Distiller(Tiny, card, teacher).Run(dir, new RunOptions(Resume: true));
        Assert.True(File.Exists(Path.Combine(dir, PhasedDmd.IO.ModelDirectory.CardFile)));
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
