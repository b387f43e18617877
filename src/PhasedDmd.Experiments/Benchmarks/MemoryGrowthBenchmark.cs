using PhasedDmd.Distillation;
using PhasedDmd.Training;

namespace PhasedDmd.Experiments.Benchmarks;

public static class MemoryGrowthBenchmark
{
    /// <summary>Runs <paramref name="updates"/> generator updates of 2-phase Phased DMD on the MLP, sampling VmRSS every <paramref name="every"/>.</summary>
    public static MemoryGrowthMeasurement Measure(int threads, int updates, int every, int seed = 0, Action<long, long>? progress = null)
    {
        var c = BenchCase.Find("phased-K2");
        var (batch, fake) = BenchSetup.Defaults(BenchModel.Mlp);
        var config = c.Config(new DistillConfig { BatchSize = batch, FakeUpdatesPerGeneratorUpdate = fake, Threads = threads, Seed = seed });
        Runtime.Configure(seed, threads, "cpu");
        var (card, teacher) = BenchSetup.Teacher(BenchModel.Mlp, seed);
        using (teacher)
        {
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
            UpdateTimer.Time(config, card, teacher, warmup: 0, repeats: updates / c.Phases - 1, afterUpdate: Sample);
            return new MemoryGrowthMeasurement("mlp", c.Name, updates, TorchSharp.torch.get_num_threads(), at, rss, live);
        }
    }
}
