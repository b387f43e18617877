using System.ComponentModel;
using PhasedDmd.Experiments.Benchmarks;
using PhasedDmd.IO;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace PhasedDmd.Cli.Commands;

public sealed class BenchWorkerSettings : CommandSettings
{
    [CommandOption("--part <PART>")]
    [Description("update, torchscript, size, matmul (1024² products in float32 and bfloat16), sampling, efficiency, growth or parallel (run under mpirun for more than one rank).")]
    public string Part { get; init; } = "";

    [CommandOption("--model <MODEL>")]
    [Description("mlp or dit (update part).")]
    public string Model { get; init; } = "dit";

    [CommandOption("--case <NAME>")]
    [Description("Configuration of the update part (dmd, fewstep-N2, fewstep-N4, fewstep-N8, sgts-N4, phased-K2, phased-K4, phased-K2-naive, phased-K2-disjoint).")]
    public string Case { get; init; } = "dmd";

    [CommandOption("--threads <N>")]
    public int Threads { get; init; } = 2;

    [CommandOption("--warmup <N>")]
    public int Warmup { get; init; } = 2;

    [CommandOption("--repeats <N>")]
    public int Repeats { get; init; } = 10;

    [CommandOption("--updates <N>")]
    [Description("Generator updates of the growth part.")]
    public int Updates { get; init; } = 5000;

    [CommandOption("--quick")]
    public bool Quick { get; init; }

    [CommandOption("--script <FILE>")]
    [Description("The TorchScript MLP of the torchscript part (from benchmarks/torchscript_mlp.py), or the imported transformer's model directory of the size part (benchmarks/dit_100m.py, then import-teacher).")]
    public string? Script { get; init; }

    [CommandOption("--experts <KIND>")]
    [Description("full or lora (size part; lora needs a script with LoRA layers).")]
    public string Experts { get; init; } = "full";

    [CommandOption("--precision <P>")]
    [Description("fp32 or bf16 (size and matmul parts; bf16 lifts oneDNN's cap to its bf16 kernels first: these parts run no convolution).")]
    public string Precision { get; init; } = "fp32";

    [CommandOption("--out <FILE>")]
    public string Out { get; init; } = "";
}

/// <summary>
/// One measurement of <c>bench</c>, run by it in a fresh child process (so that peak memory and
/// thread settings belong to that measurement alone). Hidden from the help.
/// </summary>
public sealed class BenchWorkerCommand : Command<BenchWorkerSettings>
{
    public override int Execute(CommandContext context, BenchWorkerSettings s, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(s.Out)) throw new InputException("--out FILE is required");
        if (s.Part == "parallel")
        {
            var sync = Training.DataParallel.Join();
            var measured = ParallelBenchmark.Measure(BenchSetup.ParseModel(s.Model), BenchCase.Find(s.Case), s.Threads, s.Warmup, s.Repeats, sync);
            if (sync.Rank == 0) Json.Write(s.Out, measured);
            return 0;
        }
        if (s.Precision == "bf16" && s.Part is "size" or "matmul") Models.OneDnn.LiftCapForBf16();
        object result = s.Part switch
        {
            "update" => UpdateBenchmark.Measure(BenchSetup.ParseModel(s.Model), BenchCase.Find(s.Case), s.Threads, s.Warmup, s.Repeats),
            "torchscript" => UpdateBenchmark.MeasureTorchScript(s.Script ?? throw new InputException("--script FILE is required"), BenchCase.Find(s.Case), s.Threads, s.Warmup, s.Repeats),
            "size" => SizeBenchmark.Measure(s.Script ?? throw new InputException("--script DIR is required"), BenchCase.Find(s.Case),
                s.Experts == "lora" ? Generators.ExpertKind.Lora : Generators.ExpertKind.Full, s.Threads, s.Warmup, s.Repeats,
                precision: s.Precision == "bf16" ? Training.Precision.Bf16 : Training.Precision.Fp32),
            "matmul" => new[] { ScalarType.Float32, ScalarType.BFloat16 }.ToDictionary(d => d.ToString(), d => EfficiencyBenchmark.MatmulGflops(1024, 1024, 1024, s.Repeats, d)),
            "sampling" => SamplingBenchmark.Measure(s.Threads, batch: 64, repeats: s.Repeats),
            "efficiency" => EfficiencyBenchmark.Measure(s.Threads, batch: 64, s.Warmup, s.Repeats, s.Quick),
            "growth" => MemoryGrowthBenchmark.Measure(s.Threads, s.Updates, every: Math.Max(1, s.Updates / 100),
                progress: (done, total) => { if (done % Math.Max(1, total / 10) == 0) Console.Error.WriteLine($"growth: {done}/{total}"); }),
            _ => throw new InputException($"--part: unknown part '{s.Part}' (expected update, torchscript, size, matmul, sampling, efficiency, growth or parallel)"),
        };
        Json.Write(s.Out, result);
        return 0;
    }
}
