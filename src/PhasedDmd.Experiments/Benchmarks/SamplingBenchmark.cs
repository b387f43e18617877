using System.Diagnostics;
using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Generators;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Experiments.Benchmarks;

public static class SamplingBenchmark
{
    /// <summary>
    /// Samples <paramref name="batch"/> glyph images with the DiT teacher (Euler, <paramref name="teacherSteps"/>
    /// steps, CFG <paramref name="cfg"/>) and with a 4-step, 2-phase student made from it (CFG 1), the
    /// same code paths `sample` uses; the median over repeats of each is reported.
    /// </summary>
    public static SamplingMeasurement Measure(int threads, int batch, int repeats, int teacherSteps = 40, double cfg = 3.0, int seed = 0)
    {
        Runtime.Configure(seed, threads, "cpu");
        var (_, teacher) = BenchSetup.Teacher(BenchModel.Dit, seed);
        using var _t = teacher;
        teacher.eval();
        var schedule = NoiseSchedule.FromName("flow");
        using var student = StudentGenerator.FromTeacher(teacher, new StudentSpec(PhaseLayout.Even(4, 2)), schedule);
        using var generator = Runtime.NewGenerator(seed);
        var task = new GlyphsTask();
        using var prompts = task.SamplePrompts(batch, generator);
        using var noise = torch.randn([batch, .. task.SampleShape], generator: generator);
        var times = Enumerable.Range(0, teacherSteps + 1).Select(i => 1.0 - i / (double)teacherSteps).ToArray();

        double Time(Func<Tensor> sample)
        {
            sample().Dispose();   // warm-up
            var seconds = new List<double>();
            for (var i = 0; i < repeats; i++)
            {
                var clock = Stopwatch.StartNew();
                sample().Dispose();
                seconds.Add(clock.Elapsed.TotalSeconds);
            }
            return Stats.Median(seconds);
        }

        var teacherSeconds = Time(() => OdeSolvers.Integrate(teacher, noise, times, prompts, cfg));
        var studentSeconds = Time(() => student.Sample(noise, prompts));
        return new SamplingMeasurement(torch.get_num_threads(), batch, teacherSteps, cfg, cfg == 1.0 ? teacherSteps : 2 * teacherSteps,
            4, batch / teacherSeconds, batch / studentSeconds);
    }
}
