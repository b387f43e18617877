using PhasedDmd.Distillation;
using PhasedDmd.Training;

namespace PhasedDmd.Benchmarks;

/// <summary>Time and resident memory of generator updates of one configuration, measured in one (fresh) process.</summary>
public sealed record UpdateMeasurement(
    string Model, string Case, string Method, int Steps, int Phases, int Batch, int FakeUpdates, int Threads,
    int TimedUpdates, double MedianSeconds, double BaselineRssMiB, double PeakRssMiB, bool PeakMeasuredFromBaseline)
{
    /// <summary>Peak resident memory above the resident memory just before the first update.</summary>
    public double UpdatePeakMiB => PeakRssMiB - BaselineRssMiB;
}

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
        var config = new DistillConfig
        {
            Method = c.Method, Steps = c.Steps, Phases = c.Phases, Interval = c.Interval, FakeObjective = c.FakeObjective,
            BatchSize = batch ?? defaultBatch, FakeUpdatesPerGeneratorUpdate = fakeUpdates ?? defaultFake,
            TeacherCfg = model == BenchModel.Dit ? 3.0 : 1.0, Threads = threads, Seed = seed, CheckpointEvery = 0,
        };
        Runtime.Configure(seed, threads, "cpu");
        var (card, teacher) = BenchSetup.Teacher(model, seed);
        using (teacher)
        {
            var distiller = new Distiller(config, card, teacher);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var baseline = ProcessResources.CurrentRssBytes();
            var reset = ProcessResources.TryResetPeak();
            var seconds = distiller.TimeUpdates(warmup, repeats);
            var peak = ProcessResources.PeakRssBytes();
            distiller.Student.Dispose();
            const double mib = 1024.0 * 1024.0;
            return new UpdateMeasurement(BenchSetup.Name(model), c.Name, c.Method, c.Steps, c.Phases, config.BatchSize,
                config.FakeUpdatesPerGeneratorUpdate, TorchSharp.torch.get_num_threads(), seconds.Count, Stats.Median(seconds),
                baseline / mib, peak / mib, reset);
        }
    }
}

public static class Stats
{
    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
    }

    /// <summary>Least-squares slope of y on x.</summary>
    public static double Slope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var mx = x.Average();
        var my = y.Average();
        var sxy = x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my));
        var sxx = x.Sum(v => (v - mx) * (v - mx));
        return sxx == 0 ? double.NaN : sxy / sxx;
    }
}
