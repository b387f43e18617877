using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Training;

namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>One row of the size table: a method on the ~100M DiT-style transformer with full or LoRA experts.</summary>
/// <param name="Parameters">Parameters of the imported network (with its LoRA layers, if any).</param>
/// <param name="TrainedParameters">Parameters one expert trains (all, or the adapters).</param>
/// <param name="OneDnnIsa">oneDNN's ISA cap in the process (bf16 rows lift it to its bf16 kernels: the transformer has no convolution).</param>
/// <param name="MatmulGflops">The rate of a 1024² product in the row's precision in the same process, after the updates.</param>
public sealed record SizeMeasurement(
    string Case, string Method, int Steps, int Phases, string Experts, string Precision, long Parameters, long TrainedParameters,
    int Batch, int FakeUpdates, int Threads, int TimedUpdates, double MedianSeconds, double BaselineRssMiB, double PeakRssMiB, bool PeakMeasuredFromBaseline,
    string? OneDnnIsa = null, double MatmulGflops = double.NaN);

/// <summary>
/// Memory and time of a model of real size: the DiT-style transformer of <c>benchmarks/dit_100m.py</c> (about 100M
/// parameters, written by PyTorch as TorchScript; with <c>--lora R</c> its attention and MLP layers carry LoRA),
/// imported and distilled for a few updates in a fresh process. The peak is the process's resident peak over the
/// updates (the teacher, experts, fake score, optimizer states and activations), which is what a user must plan for.
/// </summary>
public static class SizeBenchmark
{
    /// <summary>Latent shape of the transformer (4 channels, 16 × 16).</summary>
    public static readonly long[] Shape = [4, 16, 16];

    /// <param name="teacher">The transformer imported as a teacher (with <c>--adapters lora_</c> for LoRA experts), by another process.</param>
    public static SizeMeasurement Measure(string teacher, BenchCase c, ExpertKind experts, int threads, int warmup, int repeats, int batch = 2, int seed = 0,
                                          Precision precision = Precision.Fp32)
    {
        Runtime.Configure(seed, threads, "cpu");
        var (card, network) = ModelDirectory.Load(teacher);
        var parameters = network.parameters().Sum(p => p.numel());
        var config = c.Config(new DistillConfig { BatchSize = batch, FakeUpdatesPerGeneratorUpdate = 1, Threads = threads, Seed = seed, Experts = experts, Precision = precision });
        using (network)
        {
            double baseline = 0;
            var reset = false;
            long trained = 0;
            var timer = UpdateTimer.Time(config, card, network, warmup, repeats, atStart: () =>
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                baseline = ProcessResources.CurrentRssBytes();
                reset = ProcessResources.TryResetPeak();
            }, built: d => trained = d.Student.TrainableParameters(1).Sum(p => p.numel()));
            const double mib = 1024.0 * 1024.0;
            var rate = EfficiencyBenchmark.MatmulGflops(1024, 1024, 1024, 5, precision.DType());
            return new SizeMeasurement(c.Name, c.Method, c.Steps, c.Phases, experts == ExpertKind.Lora ? "lora" : "full", precision == Precision.Bf16 ? "bf16" : "fp32",
                parameters, trained, config.BatchSize, config.FakeUpdatesPerGeneratorUpdate, TorchSharp.torch.get_num_threads(), timer.Seconds.Count,
                Stats.Median(timer.Seconds), baseline / mib, timer.PeakRssBytes / mib, reset, Models.OneDnn.MaxCpuIsa, rate);
        }
    }

    /// <summary>The arguments of the <c>import-teacher</c> that makes the teacher of <see cref="Measure"/> from a script of <c>dit_100m.py</c>.</summary>
    public static string[] ImportArguments(string script, bool lora, string outDir)
        => ["import-teacher", "--torchscript", script, "--prediction", "velocity", "--sample-shape", string.Join(",", Shape), "--time-scale", "1000",
            .. lora ? new[] { "--adapters", "lora_", "--adapter-alpha", "8" } : [], "--out", outDir];

    /// <summary>The cases of the size table.</summary>
    public static readonly string[] Cases = ["dmd", "sgts-N4", "phased-K2", "phased-K4"];
}
