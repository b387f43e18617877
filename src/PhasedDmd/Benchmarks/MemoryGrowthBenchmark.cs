using PhasedDmd.Distillation;
using PhasedDmd.Training;

namespace PhasedDmd.Benchmarks;

/// <summary>Resident memory sampled along a long distillation: flat if nothing leaks.</summary>
public sealed record MemoryGrowthMeasurement(string Model, string Case, int Updates, int Threads, IReadOnlyList<long> AtUpdate, IReadOnlyList<double> RssMiB,
                                             IReadOnlyList<long> LiveTensors)
{
    /// <summary>Resident memory after the first tenth of the run (allocator warm-up done).</summary>
    public double StartMiB => RssMiB[Math.Min(RssMiB.Count - 1, RssMiB.Count / 10)];
    public double EndMiB => RssMiB[^1];
    /// <summary>Least-squares growth over the second half of the run, MiB per 1000 updates.</summary>
    public double SlopeMiBPer1000 => 1000 * Stats.Slope(
        AtUpdate.Skip(AtUpdate.Count / 2).Select(v => (double)v).ToList(), RssMiB.Skip(RssMiB.Count / 2).ToList());
}

public static class MemoryGrowthBenchmark
{
    /// <summary>Runs <paramref name="updates"/> generator updates of 2-phase Phased DMD on the MLP, sampling VmRSS every <paramref name="every"/>.</summary>
    public static MemoryGrowthMeasurement Measure(int threads, int updates, int every, int seed = 0, Action<long, long>? progress = null)
    {
        var c = BenchCase.Find("phased-K2");
        var (batch, fake) = BenchSetup.Defaults(BenchModel.Mlp);
        var config = new DistillConfig
        {
            Method = c.Method, Steps = c.Steps, Phases = c.Phases, BatchSize = batch, FakeUpdatesPerGeneratorUpdate = fake,
            Threads = threads, Seed = seed, CheckpointEvery = 0,
        };
        Runtime.Configure(seed, threads, "cpu");
        var (card, teacher) = BenchSetup.Teacher(BenchModel.Mlp, seed);
        using (teacher)
        {
            var distiller = new Distiller(config, card, teacher);
            var at = new List<long>();
            var rss = new List<double>();
            var live = new List<long>();
            void Sample(long done)
            {
                if (done % every != 0 && done != updates) return;
                at.Add(done);
                rss.Add(ProcessResources.CurrentRssBytes() / (1024.0 * 1024.0));
                live.Add(TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
                progress?.Invoke(done, updates);
            }
            Sample(0);
            distiller.TimeUpdates(warmup: 0, repeats: updates / c.Phases, afterUpdate: Sample);
            distiller.Student.Dispose();
            return new MemoryGrowthMeasurement("mlp", c.Name, updates, TorchSharp.torch.get_num_threads(), at, rss, live);
        }
    }
}
