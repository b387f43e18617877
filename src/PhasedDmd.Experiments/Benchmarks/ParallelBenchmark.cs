using PhasedDmd.Distillation;
using PhasedDmd.Training;

namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>
/// Time per generator update of one configuration at a fixed global batch, on the data-parallel group
/// this process belongs to (one process without a launcher), and the share of it spent in all-reduce.
/// </summary>
public static class ParallelBenchmark
{
    public static ParallelMeasurement Measure(BenchModel model, BenchCase c, int threads, int warmup, int repeats, IGradientSync sync, int? batch = null)
    {
        var (defaultBatch, fake) = BenchSetup.Defaults(model);
        var config = c.Config(new DistillConfig
        {
            BatchSize = batch ?? defaultBatch, FakeUpdatesPerGeneratorUpdate = fake,
            TeacherCfg = model == BenchModel.Dit ? 3.0 : 1.0, Threads = threads, Seed = 0,
        });
        Runtime.Configure(0, threads, "cpu");
        var (card, teacher) = BenchSetup.Teacher(model, 0);
        using (teacher)
        {
            var group = sync as MpiGroup;
            var timer = UpdateTimer.Time(config, card, teacher, warmup, repeats, sync: sync,
                                         communication: group is null ? null : () => group.CommunicationSeconds);
            var median = Stats.Median(timer.Seconds);
            var share = timer.Seconds.Sum() > 0 ? timer.CommunicationSeconds.Sum() / timer.Seconds.Sum() : 0;
            var transport = group is null ? "one process" : $"{group.Library}, {group.ReductionPath}";
            return new ParallelMeasurement(BenchSetup.Name(model), c.Name, sync.WorldSize, threads, config.BatchSize, timer.Seconds.Count,
                                           median, 1 / median, share, transport);
        }
    }
}
