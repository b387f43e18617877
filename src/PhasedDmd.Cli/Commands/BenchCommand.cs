using PhasedDmd.Cli.Support;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
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
        Directory.CreateDirectory(work);
        var (warmup, repeats) = s.Quick ? (1, 3) : (2, 10);
        var growthUpdates = s.Quick ? 500 : 5000;

        var jobs = new List<(string Label, string[] Args)>();
        foreach (var model in models)
            foreach (var c in BenchCase.Standard)
                jobs.Add(($"{BenchSetup.Name(model)} {c.Name}", ["--part", "update", "--model", BenchSetup.Name(model), "--case", c.Name,
                    "--warmup", $"{warmup}", "--repeats", $"{repeats}"]));
        jobs.Add(("sampling", ["--part", "sampling", "--repeats", s.Quick ? "1" : "3"]));
        jobs.Add(("efficiency", ["--part", "efficiency", "--warmup", $"{warmup}", "--repeats", $"{repeats}", .. s.Quick ? new[] { "--quick" } : []]));
        jobs.Add(("memory growth", ["--part", "growth", "--updates", $"{growthUpdates}"]));

        // Data parallel: phased K = 2 at each model's global batch on 1 rank × T threads, 1 rank × 1 thread and 2 ranks × 1 thread.
        var launcher = s.Mpirun == "none" ? null : FindOnPath(s.Mpirun);
        var parallelJobs = new List<(string Label, int Ranks, string[] Args)>();
        foreach (var model in models)
        {
            string[] Args(int threads) => ["--part", "parallel", "--model", BenchSetup.Name(model), "--case", "phased-K2",
                                           "--warmup", $"{warmup}", "--repeats", $"{repeats}", "--threads", $"{threads}"];
            parallelJobs.Add(($"{BenchSetup.Name(model)} 1 rank × {s.Threads} threads", 0, Args(s.Threads)));
            if (s.Threads != 1) parallelJobs.Add(($"{BenchSetup.Name(model)} 1 rank × 1 thread", 0, Args(1)));
            if (launcher is not null) parallelJobs.Add(($"{BenchSetup.Name(model)} 2 ranks × 1 thread", 2, Args(1)));
        }

        // An imported TorchScript teacher against the native one: the ring8 MLP written in PyTorch.
        var python = FindPython(s);
        string? torchScriptSkipped = models.Contains(BenchModel.Mlp) ? null : "the mlp model is not benchmarked";
        string? script = null;
        if (torchScriptSkipped is null)
        {
            var writer = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(s.Reference))!, "torchscript_mlp.py");
            if (python is null) torchScriptSkipped = "no Python with torch found to write the TorchScript MLP";
            else if (!File.Exists(writer)) torchScriptSkipped = $"{writer} not found (run bench from the repository root)";
            else
            {
                script = Path.Combine(work, "mlp.pt");
                var (code, err) = RunProcess(python, [writer, script]);
                if (code != 0) { torchScriptSkipped = $"torchscript_mlp.py failed (exit {code}): {err}"; script = null; }
            }
        }

        var outputs = new List<string>();
        var parallelOutputs = new List<string>();
        string? torchScriptOutput = null;
        var total = jobs.Count + parallelJobs.Count + 2;
        ConsoleProgress.Run("bench", progress =>
        {
            for (var i = 0; i < jobs.Count; i++)
            {
                progress(new Training.JobProgress(i, total, jobs[i].Label));
                var file = Path.Combine(work, $"{i:00}.json");
                RunWorker([.. jobs[i].Args, "--threads", $"{s.Threads}", "--out", file]);
                outputs.Add(file);
            }
            for (var i = 0; i < parallelJobs.Count; i++)
            {
                progress(new Training.JobProgress(jobs.Count + i, total, parallelJobs[i].Label));
                var file = Path.Combine(work, $"parallel-{i:00}.json");
                RunWorker([.. parallelJobs[i].Args, "--out", file], parallelJobs[i].Ranks, launcher);
                parallelOutputs.Add(file);
            }
            if (script is not null)
            {
                progress(new Training.JobProgress(total - 2, total, "mlp imported from TorchScript"));
                torchScriptOutput = Path.Combine(work, "torchscript.json");
                RunWorker(["--part", "torchscript", "--script", script, "--case", "phased-K2", "--warmup", $"{warmup}", "--repeats", $"{repeats}",
                           "--threads", $"{s.Threads}", "--out", torchScriptOutput]);
            }
            progress(new Training.JobProgress(total - 1, total, "pytorch reference"));
            return 0;
        });
        var parallel = parallelOutputs.Select(f => Json.Read<ParallelMeasurement>(f, "bench result")).ToList();

        var updates = outputs.Take(models.Count * BenchCase.Standard.Count).Select(f => Json.Read<UpdateMeasurement>(f, "bench result")).ToList();
        var sampling = Json.Read<SamplingMeasurement>(outputs[^3], "bench result");
        var efficiency = Json.Read<EfficiencyMeasurement>(outputs[^2], "bench result");
        var growth = Json.Read<MemoryGrowthMeasurement>(outputs[^1], "bench result");
        var pytorch = s.SkipPyTorch ? new PyTorchReference(false, "--skip-pytorch") : RunPyTorch(s, warmup, repeats, work);
        var oursDmd = updates.FirstOrDefault(u => u.Model == "dit" && u.Case == "dmd");
        var imported = torchScriptOutput is null ? null : Json.Read<UpdateMeasurement>(torchScriptOutput, "bench result");
        var native = updates.FirstOrDefault(u => u.Model == "mlp" && u.Case == "phased-K2");
        var results = new BenchResults
        {
            Quick = s.Quick,
            Threads = s.Threads,
            Machine = $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}",
            Updates = updates,
            Memory = models.Select(m => BenchReport.Summarise(BenchSetup.Name(m), updates)).ToList(),
            Sampling = sampling,
            Efficiency = efficiency,
            MemoryGrowth = growth,
            PyTorch = pytorch,
            TorchScriptUpdate = imported,
            TorchScriptOverNativeUpdateRatio = imported is not null && native is not null ? imported.MedianSeconds / native.MedianSeconds : double.NaN,
            TorchScriptSkipped = torchScriptSkipped,
            DataParallel = parallel,
            DataParallelSkipped = launcher is null ? (s.Mpirun == "none" ? "--mpirun none" : $"{s.Mpirun} not found (install Debian's openmpi-bin)") : null,
            Scaling = models.Select(m => (BenchSetup.Name(m), ScalingModel.Fit(parallel, BenchSetup.Name(m))))
                            .Where(p => p.Item2 is not null).ToDictionary(p => p.Item1, p => p.Item2!),
            DmdUpdateRatioOursOverPyTorch = pytorch.Available && oursDmd is not null ? oursDmd.MedianSeconds / pytorch.DmdUpdateSeconds : double.NaN,
            TrainStepRatioOursOverPyTorch = pytorch.Available ? efficiency.MedianStepSeconds / pytorch.TrainStepSeconds : double.NaN,
        };
        Json.WriteMetrics(outPath, results);
        var markdown = BenchReport.Markdown(results);
        var stem = Path.Combine(outDir, Path.GetFileNameWithoutExtension(outPath));
        AtomicFile.WriteAllText(stem + ".md", markdown);
        BenchReport.MemoryPlot(Path.Combine(outDir, "bench-memory.png"), updates);
        BenchReport.GrowthPlot(Path.Combine(outDir, "bench-memory-growth.png"), growth);
        Directory.Delete(work, recursive: true);
        AnsiConsole.WriteLine(markdown);
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(outPath)}, {Markup.Escape(stem + ".md")}, bench-memory.png, bench-memory-growth.png");
        return 0;
    }

    /// <summary>Runs one measurement in a fresh process of this same program (under <paramref name="launcher"/> with <paramref name="ranks"/> ranks when ranks > 0).</summary>
    private static void RunWorker(string[] args, int ranks = 0, string? launcher = null)
    {
        var info = SelfStartInfo();
        if (ranks > 0)
        {
            string[] self = [info.FileName, .. info.ArgumentList];   // the launcher starts this program on every rank
            info.FileName = launcher!;
            info.ArgumentList.Clear();
            foreach (var a in new[] { "-n", $"{ranks}", "--oversubscribe", "--bind-to", "none" }.Concat(self)) info.ArgumentList.Add(a);
            info.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
            info.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        }
        info.ArgumentList.Add("bench-worker");
        foreach (var a in args) info.ArgumentList.Add(a);
        info.RedirectStandardError = true;
        info.RedirectStandardOutput = true;
        using var p = Process.Start(info) ?? throw new InvalidOperationException("could not start the benchmark worker");
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"benchmark worker ({string.Join(' ', args.Take(6))}) failed with exit code {p.ExitCode}: {err.Result.Trim().Split('\n').LastOrDefault()}");
    }

    private static string? FindOnPath(string program)
    {
        if (program.Contains('/')) return File.Exists(program) ? program : null;
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
    }

    private static ProcessStartInfo SelfStartInfo()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            info.ArgumentList.Add(typeof(BenchCommand).Assembly.Location);   // started as `dotnet phased-dmd.dll`
        return info;
    }

    /// <summary>
    /// The PyTorch reference with the same threads (OMP and OpenBLAS) and, so that the comparison is
    /// fair to PyTorch, each OpenBLAS core type that suits this CPU: the faster run is reported.
    /// </summary>
    private static PyTorchReference RunPyTorch(BenchSettings s, int warmup, int repeats, string work)
    {
        if (!File.Exists(s.Reference)) return new PyTorchReference(false, $"reference script not found at {s.Reference} (run bench from the repository root or pass --reference)");
        var python = FindPython(s);
        if (python is null)
            return new PyTorchReference(false, "no Python with torch found (install Debian's python3-torch and libopenblas0-pthread: see README, Performance)");
        PyTorchReference? best = null;
        foreach (var coreType in OpenBlasCoreTypes())
        {
            var file = Path.Combine(work, $"pytorch-{coreType ?? "default"}.json");
            var info = new ProcessStartInfo(python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { s.Reference, "--threads", $"{s.Threads}", "--warmup", $"{warmup}", "--repeats", $"{repeats}", "--json", file })
                info.ArgumentList.Add(a);
            info.Environment["OMP_NUM_THREADS"] = $"{s.Threads}";
            info.Environment["OPENBLAS_NUM_THREADS"] = $"{s.Threads}";
            if (coreType is null) info.Environment.Remove("OPENBLAS_CORETYPE");
            else info.Environment["OPENBLAS_CORETYPE"] = coreType;
            using var p = Process.Start(info)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(file))
                return new PyTorchReference(false, $"the reference failed (exit {p.ExitCode}): {err.Result.Trim().Split('\n').LastOrDefault()}");
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            var r = doc.RootElement;
            var blasInfo = r.GetProperty("blas").GetString() ?? "";
            var run = new PyTorchReference(true, null, r.GetProperty("torch_version").GetString(), BlasDescription(blasInfo, coreType),
                r.GetProperty("threads").GetInt32(), r.GetProperty("dmd_update_seconds").GetDouble(), r.GetProperty("train_step_seconds").GetDouble(),
                python, $"OMP_NUM_THREADS={s.Threads} OPENBLAS_NUM_THREADS={s.Threads} OPENBLAS_CORETYPE={coreType ?? "(auto)"}");
            if (best is null || run.DmdUpdateSeconds < best.DmdUpdateSeconds) best = run;
        }
        return best!;
    }

    /// <summary>OpenBLAS kernels for this CPU: AVX-512 (SkylakeX) where the CPU has it, and AVX2 (Haswell).</summary>
    private static IEnumerable<string?> OpenBlasCoreTypes()
    {
        var flags = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        if (flags.Contains("avx512f")) yield return "SkylakeX";
        if (flags.Contains("avx2")) yield return "Haswell";
        if (!flags.Contains("avx2")) yield return null;
    }

    private static string BlasDescription(string buildInfo, string? coreType)
    {
        var match = System.Text.RegularExpressions.Regex.Match(buildInfo, @"BLAS_INFO=([^,\s]+)");
        var info = match.Success ? $"BLAS_INFO={match.Groups[1].Value}" : "BLAS_INFO=?";
        var resolved = File.Exists("/usr/lib/x86_64-linux-gnu/libblas.so.3") ? new FileInfo("/usr/lib/x86_64-linux-gnu/libblas.so.3").ResolveLinkTarget(true)?.FullName : null;
        return $"{info} → {resolved ?? "libblas.so.3"} (OpenBLAS core type {coreType ?? "auto"})";
    }

    private static string? FindPython(BenchSettings s)
        => s.Python is not null ? (CanImportTorch(s.Python) ? s.Python : null) : new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(CanImportTorch);

    private static (int Code, string Error) RunProcess(string program, string[] args)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, err.Result.Trim().Split('\n').LastOrDefault() ?? "");
    }

    private static bool CanImportTorch(string python)
    {
        try
        {
            var info = new ProcessStartInfo(python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("import torch");
            using var p = Process.Start(info);
            if (p is null) return false;
            p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
