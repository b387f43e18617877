using PhasedDmd.Distillation;
using PhasedDmd.Training;

namespace PhasedDmd.Experiments.Benchmarks;

public static class UpdateBenchmark
{
    /// <summary>
    /// Builds the teacher and the distiller, then runs <paramref name="warmup"/> + <paramref name="repeats"/>
    /// generator updates (each with its fake updates) in every phase. The peak resident memory is
    /// reset just before the first update where Linux allows it, so it measures the updates.
    /// </summary>
    public static UpdateMeasurement Measure(BenchModel model, BenchCase c, int threads, int warmup, int repeats, int seed = 0,
                                            int? batch = null, int? fakeUpdates = null)
    {
        var (defaultBatch, defaultFake) = BenchSetup.Defaults(model);
        var config = c.Config(new DistillConfig
        {
            BatchSize = batch ?? defaultBatch, FakeUpdatesPerGeneratorUpdate = fakeUpdates ?? defaultFake,
            TeacherCfg = model == BenchModel.Dit ? 3.0 : 1.0, Threads = threads, Seed = seed,
        });
        Runtime.Configure(seed, threads, "cpu");
        var (card, teacher) = BenchSetup.Teacher(model, seed);
        using (teacher)
        {
            double baseline = 0;
            var reset = false;
            var timer = UpdateTimer.Time(config, card, teacher, warmup, repeats, atStart: () =>
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                baseline = ProcessResources.CurrentRssBytes();
                reset = ProcessResources.TryResetPeak();
            });
            var (seconds, peak) = (timer.Seconds, timer.PeakRssBytes);
            const double mib = 1024.0 * 1024.0;
            return new UpdateMeasurement(BenchSetup.Name(model), c.Name, c.Method, c.Steps, c.Phases, config.BatchSize,
                config.FakeUpdatesPerGeneratorUpdate, TorchSharp.torch.get_num_threads(), seconds.Count, Stats.Median(seconds),
                baseline / mib, peak / mib, reset);
        }
    }
}
