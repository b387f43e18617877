using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Models;
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
        Runtime.Configure(seed, threads, "cpu");
        var (card, teacher) = BenchSetup.Teacher(model, seed);
        return Measure(BenchSetup.Name(model), card, teacher, c, BenchSetup.Defaults(model), model == BenchModel.Dit ? 3.0 : 1.0,
                       threads, warmup, repeats, seed, batch, fakeUpdates);
    }

    /// <summary>
    /// The same measurement on the ring8 MLP written in PyTorch (benchmarks/torchscript_mlp.py) and
    /// imported from <paramref name="script"/>: the cost of a TorchScript teacher against the native one.
    /// </summary>
    public static UpdateMeasurement MeasureTorchScript(string script, BenchCase c, int threads, int warmup, int repeats, int seed = 0)
    {
        Runtime.Configure(seed, threads, "cpu");
        var dir = Path.Combine(Path.GetTempPath(), $"pdmd-bench-ts-{Guid.NewGuid():N}");
        try
        {
            TorchScriptImport.Import(new TorchScriptImportOptions { TorchScript = script, Prediction = "velocity", SampleShape = [2] }, dir);
            var (card, teacher) = ModelDirectory.Load(dir);
            return Measure("mlp-torchscript", card, teacher, c, BenchSetup.Defaults(BenchModel.Mlp), 1.0, threads, warmup, repeats, seed, null, null);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    private static UpdateMeasurement Measure(string name, ModelCard card, VelocityModel teacher, BenchCase c, (int Batch, int FakeUpdates) defaults,
                                             double cfg, int threads, int warmup, int repeats, int seed, int? batch, int? fakeUpdates)
    {
        var config = c.Config(new DistillConfig
        {
            BatchSize = batch ?? defaults.Batch, FakeUpdatesPerGeneratorUpdate = fakeUpdates ?? defaults.FakeUpdates,
            TeacherCfg = cfg, Threads = threads, Seed = seed,
        });
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
            return new UpdateMeasurement(name, c.Name, c.Method, c.Steps, c.Phases, config.BatchSize,
                config.FakeUpdatesPerGeneratorUpdate, TorchSharp.torch.get_num_threads(), seconds.Count, Stats.Median(seconds),
                baseline / mib, peak / mib, reset);
        }
    }
}
