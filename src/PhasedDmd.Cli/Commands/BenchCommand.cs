using PhasedDmd.Cli.Support;
using System.ComponentModel;
using System.Diagnostics;
using PhasedDmd.Experiments.Benchmarks;
using PhasedDmd.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class BenchSettings : CommandSettings
{
    [CommandOption("--quick")]
    [Description("Fewer repeats, a 500-update memory run and one matmul size (about 3 minutes instead of about 10).")]
    public bool Quick { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("Where to write the results as JSON (default bench.json); bench.md and two PNG figures go beside it.")]
    public string Out { get; init; } = "bench.json";

    [CommandOption("--threads <N>")]
    [Description("libtorch (and PyTorch) intra-op threads for every measurement (default 2).")]
    public int Threads { get; init; } = 2;

    [CommandOption("--models <LIST>")]
    [Description("Networks of the memory/time table, comma-separated: mlp, dit (default both).")]
    public string Models { get; init; } = "mlp,dit";

    [CommandOption("--python <PATH>")]
    [Description("Python with torch for the PyTorch reference (default: the first of /usr/bin/python3, python3 that can import torch).")]
    public string? Python { get; init; }

    [CommandOption("--reference <FILE>")]
    [Description("The PyTorch reference script (default benchmarks/pytorch_reference.py).")]
    public string Reference { get; init; } = Path.Combine("benchmarks", "pytorch_reference.py");

    [CommandOption("--skip-pytorch")]
    [Description("Do not run the PyTorch reference.")]
    public bool SkipPyTorch { get; init; }

    [CommandOption("--mpirun <PATH>")]
    [Description("Open MPI's launcher for the 2-rank data-parallel rows (default: mpirun.openmpi, Debian's name for it, on the PATH — a plain mpirun may be MPICH's; none = skip those rows).")]
    public string Mpirun { get; init; } = "mpirun.openmpi";

    [CommandOption("--size")]
    [Description("Add the size table: dmd, sgts, phased K=2 and K=4 on a ~100M-parameter DiT-style transformer written by PyTorch (benchmarks/dit_100m.py), full and LoRA experts, fp32 and bf16, peak memory and seconds per update (about 12 more minutes; needs Python with torch and ~10 GB of memory).")]
    public bool Size { get; init; }

    public override ValidationResult Validate()
    {
        if (Threads < 1) return ValidationResult.Error("--threads must be ≥ 1");
        if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out FILE must not be empty");
        return ValidationResult.Success();
    }
}

/// <summary>
/// Performance: memory and time per generator update for every method, sampling speed-up, the DiT
/// training step against the matmul peak, memory over a long run and the PyTorch reference.
/// Each measurement runs in a fresh child process.
/// </summary>
public sealed class BenchCommand : Command<BenchSettings>
{
    public override int Execute(CommandContext context, BenchSettings s, CancellationToken cancellationToken)
    {
        var models = s.Models.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(BenchSetup.ParseModel).Distinct().ToList();
        var outPath = Path.GetFullPath(s.Out);
        var outDir = Path.GetDirectoryName(outPath)!;
        Directory.CreateDirectory(outDir);
        var work = Path.Combine(outDir, ".bench-work");
        var run = new BenchRun(new BenchOptions(s.Quick, s.Threads, models, s.Mpirun, s.Reference, s.Python, s.SkipPyTorch, s.Size), SelfStartInfo);
        var results = ConsoleProgress.Run("bench", progress => run.Run(work, progress));
        Json.WriteMetrics(outPath, results);
        var markdown = BenchReport.Markdown(results);
        var stem = Path.Combine(outDir, Path.GetFileNameWithoutExtension(outPath));
        AtomicFile.WriteAllText(stem + ".md", markdown);
        BenchReport.MemoryPlot(Path.Combine(outDir, "bench-memory.png"), results.Updates);
        BenchReport.GrowthPlot(Path.Combine(outDir, "bench-memory-growth.png"), results.MemoryGrowth!);
        Directory.Delete(work, recursive: true);
        AnsiConsole.WriteLine(markdown);
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(outPath)}, {Markup.Escape(stem + ".md")}, bench-memory.png, bench-memory-growth.png");
        return 0;
    }

    /// <summary>How to start this same program: the host, and the CLI's assembly when the host is <c>dotnet</c>.</summary>
    private static ProcessStartInfo SelfStartInfo()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            info.ArgumentList.Add(typeof(BenchCommand).Assembly.Location);   // started as `dotnet phased-dmd.dll`
        return info;
    }
}
