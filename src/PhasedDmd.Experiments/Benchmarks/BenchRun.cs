using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using PhasedDmd.IO;
using PhasedDmd.Training;

namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>What a benchmark run measures and with what (the settings of <c>phased-dmd bench</c>).</summary>
/// <param name="Mpirun">Open MPI's launcher for the 2-rank rows (a name on the PATH or a path); "none" skips them.</param>
/// <param name="Reference">The PyTorch reference script.</param>
/// <param name="Python">Python with torch for the reference and the TorchScript MLP; null = the first of /usr/bin/python3, python3 that imports torch.</param>
/// <param name="Size">Also measure the size table (<see cref="SizeBenchmark"/>): about 100M parameters, a few minutes per row.</param>
public sealed record BenchOptions(bool Quick, int Threads, IReadOnlyList<BenchModel> Models, string Mpirun, string Reference, string? Python, bool SkipPyTorch,
                                  bool Size = false);

/// <summary>
/// The whole benchmark: every measurement in a fresh child process of the program (a <c>bench-worker</c> started by
/// <paramref name="worker"/>, under the MPI launcher for the 2-rank rows), the TorchScript MLP written by PyTorch,
/// the PyTorch reference with each suitable OpenBLAS core type, and the results read back by name.
/// </summary>
/// <param name="worker">How to start this program, without arguments; the orchestration adds <c>bench-worker</c> and the measurement's.</param>
public sealed class BenchRun(BenchOptions options, Func<ProcessStartInfo> worker)
{
    private sealed record Job(string Key, string Label, string[] Args, int Ranks = 0);

    /// <summary>Runs every measurement in <paramref name="work"/> (a scratch folder) and assembles the results.</summary>
    public BenchResults Run(string work, Action<JobProgress>? progress = null)
    {
        Directory.CreateDirectory(work);
        var models = options.Models;
        var (warmup, repeats) = options.Quick ? (1, 3) : (2, 10);
        var growthUpdates = options.Quick ? 500 : 5000;

        var jobs = new List<Job>();
        foreach (var model in models)
            foreach (var c in BenchCase.Standard)
                jobs.Add(new($"update {BenchSetup.Name(model)} {c.Name}", $"{BenchSetup.Name(model)} {c.Name}", ["--part", "update", "--model", BenchSetup.Name(model), "--case", c.Name,
                    "--warmup", $"{warmup}", "--repeats", $"{repeats}", "--threads", $"{options.Threads}"]));
        jobs.Add(new("sampling", "sampling", ["--part", "sampling", "--repeats", options.Quick ? "1" : "3", "--threads", $"{options.Threads}"]));
        jobs.Add(new("efficiency", "efficiency", ["--part", "efficiency", "--warmup", $"{warmup}", "--repeats", $"{repeats}", .. options.Quick ? new[] { "--quick" } : [], "--threads", $"{options.Threads}"]));
        jobs.Add(new("growth", "memory growth", ["--part", "growth", "--updates", $"{growthUpdates}", "--threads", $"{options.Threads}"]));

        // Data parallel: phased K = 2 at each model's global batch on 1 rank × T threads, 1 rank × 1 thread and 2 ranks × 1 thread.
        var launcher = options.Mpirun == "none" ? null : FindOnPath(options.Mpirun);
        var parallelJobs = new List<Job>();
        foreach (var model in models)
        {
            string[] Args(int threads) => ["--part", "parallel", "--model", BenchSetup.Name(model), "--case", "phased-K2",
                                           "--warmup", $"{warmup}", "--repeats", $"{repeats}", "--threads", $"{threads}"];
            parallelJobs.Add(new($"parallel {parallelJobs.Count}", $"{BenchSetup.Name(model)} 1 rank × {options.Threads} threads", Args(options.Threads)));
            if (options.Threads != 1) parallelJobs.Add(new($"parallel {parallelJobs.Count}", $"{BenchSetup.Name(model)} 1 rank × 1 thread", Args(1)));
            if (launcher is not null) parallelJobs.Add(new($"parallel {parallelJobs.Count}", $"{BenchSetup.Name(model)} 2 ranks × 1 thread", Args(1), Ranks: 2));
        }

        // An imported TorchScript teacher against the native one: the ring8 MLP written in PyTorch.
        var python = FindPython();
        string? torchScriptSkipped = models.Contains(BenchModel.Mlp) ? null : "the mlp model is not benchmarked";
        string? script = null;
        if (torchScriptSkipped is null)
        {
            var writer = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.Reference))!, "torchscript_mlp.py");
            if (python is null) torchScriptSkipped = "no Python with torch found to write the TorchScript MLP";
            else if (!File.Exists(writer)) torchScriptSkipped = $"{writer} not found (run bench from the repository root)";
            else
            {
                script = Path.Combine(work, "mlp.pt");
                var (code, err) = RunProcess(python, [writer, script]);
                if (code != 0) { torchScriptSkipped = $"torchscript_mlp.py failed (exit {code}): {err}"; script = null; }
            }
        }
        if (script is not null)
            jobs.Add(new("torchscript", "mlp imported from TorchScript", ["--part", "torchscript", "--script", script, "--case", "phased-K2", "--warmup", $"{warmup}",
                                                                           "--repeats", $"{repeats}", "--threads", $"{options.Threads}"]));

        // A model of real size: the ~100M transformer written by PyTorch, without and with LoRA layers.
        string? sizeSkipped = options.Size ? null : "not requested (bench --size)";
        var sizeJobs = new List<Job>();
        if (sizeSkipped is null)
        {
            var writer = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.Reference))!, "dit_100m.py");
            if (python is null) sizeSkipped = "no Python with torch found to write the transformer";
            else if (!File.Exists(writer)) sizeSkipped = $"{writer} not found (run bench from the repository root)";
            else
            {
                string full = Path.Combine(work, "dit_100m.pt"), lora = Path.Combine(work, "dit_100m_lora.pt");
                var (code, err) = RunProcess(python, [writer, full]);
                if (code == 0) (code, err) = RunProcess(python, [writer, lora, "--lora", "64"]);
                if (code != 0) sizeSkipped = $"dit_100m.py failed (exit {code}): {err}";
                else
                    foreach (var experts in new[] { "full", "lora" })
                    {
                        var teacher = Path.Combine(work, $"dit_100m_{experts}");   // imported in a process of its own, as a user would
                        RunWorker(SizeBenchmark.ImportArguments(experts == "lora" ? lora : full, experts == "lora", teacher), command: null);
                        foreach (var precision in new[] { "fp32", "bf16" })
                            foreach (var c in SizeBenchmark.Cases)
                                sizeJobs.Add(new($"size {c} {experts} {precision}", $"~100M transformer {c} {experts} {precision}", ["--part", "size", "--script", teacher,
                                    "--experts", experts, "--precision", precision, "--case", c, "--warmup", "1", "--repeats", options.Quick ? "2" : "3", "--threads", $"{options.Threads}"]));
                    }
            }
        }

        var all = jobs.Take(jobs.Count - (script is null ? 0 : 1)).Concat(parallelJobs).Concat(jobs.Skip(jobs.Count - (script is null ? 0 : 1))).Concat(sizeJobs).ToList();
        var files = new Dictionary<string, string>();
        var total = all.Count + (script is null ? 2 : 1);
        for (var i = 0; i < all.Count; i++)
        {
            progress?.Invoke(new JobProgress(i, total, all[i].Label));
            var file = Path.Combine(work, $"{i:00}.json");
            RunWorker([.. all[i].Args, "--out", file], all[i].Ranks, launcher);
            files[all[i].Key] = file;
        }
        progress?.Invoke(new JobProgress(total - 1, total, "pytorch reference"));
        T Read<T>(string key) => Json.Read<T>(files[key], "bench result");

        var updates = jobs.Where(j => j.Key.StartsWith("update ", StringComparison.Ordinal)).Select(j => Read<UpdateMeasurement>(j.Key)).ToList();
        var parallel = parallelJobs.Select(j => Read<ParallelMeasurement>(j.Key)).ToList();
        var sampling = Read<SamplingMeasurement>("sampling");
        var efficiency = Read<EfficiencyMeasurement>("efficiency");
        var growth = Read<MemoryGrowthMeasurement>("growth");
        var pytorch = options.SkipPyTorch ? new PyTorchReference(false, "--skip-pytorch") : RunPyTorch(warmup, repeats, work);
        var oursDmd = updates.FirstOrDefault(u => u.Model == "dit" && u.Case == "dmd");
        var imported = script is null ? null : Read<UpdateMeasurement>("torchscript");
        var native = updates.FirstOrDefault(u => u.Model == "mlp" && u.Case == "phased-K2");
        return new BenchResults
        {
            Quick = options.Quick,
            Threads = options.Threads,
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
            Size = sizeJobs.Select(j => Read<SizeMeasurement>(j.Key)).ToList(),
            SizeSkipped = sizeSkipped,
            DataParallelSkipped = launcher is null ? (options.Mpirun == "none" ? "--mpirun none" : $"{options.Mpirun} not found (install Debian's openmpi-bin)") : null,
            Scaling = models.Select(m => (BenchSetup.Name(m), ScalingModel.Fit(parallel, BenchSetup.Name(m))))
                            .Where(p => p.Item2 is not null).ToDictionary(p => p.Item1, p => p.Item2!),
            DmdUpdateRatioOursOverPyTorch = pytorch.Available && oursDmd is not null ? oursDmd.MedianSeconds / pytorch.DmdUpdateSeconds : double.NaN,
            TrainStepRatioOursOverPyTorch = pytorch.Available ? efficiency.MedianStepSeconds / pytorch.TrainStepSeconds : double.NaN,
        };
    }

    /// <summary>Runs one measurement in a fresh process of this same program (under <paramref name="launcher"/> with <paramref name="ranks"/> ranks when ranks > 0).</summary>
    /// <param name="command">The command to run (default bench-worker; null: the arguments name it).</param>
    private void RunWorker(string[] args, int ranks = 0, string? launcher = null, string? command = "bench-worker")
    {
        var info = worker();
        if (ranks > 0)
        {
            string[] self = [info.FileName, .. info.ArgumentList];   // the launcher starts this program on every rank
            info.FileName = launcher!;
            info.ArgumentList.Clear();
            foreach (var a in new[] { "-n", $"{ranks}", "--oversubscribe", "--bind-to", "none" }.Concat(self)) info.ArgumentList.Add(a);
            info.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
            info.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        }
        if (command is not null) info.ArgumentList.Add(command);
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

    /// <summary>
    /// The PyTorch reference with the same threads (OMP and OpenBLAS) and, so that the comparison is
    /// fair to PyTorch, each OpenBLAS core type that suits this CPU: the faster run is reported.
    /// </summary>
    private PyTorchReference RunPyTorch(int warmup, int repeats, string work)
    {
        if (!File.Exists(options.Reference)) return new PyTorchReference(false, $"reference script not found at {options.Reference} (run bench from the repository root or pass --reference)");
        var python = FindPython();
        if (python is null)
            return new PyTorchReference(false, "no Python with torch found (install Debian's python3-torch and libopenblas0-pthread: see README, Performance)");
        PyTorchReference? best = null;
        foreach (var coreType in OpenBlasCoreTypes())
        {
            var file = Path.Combine(work, $"pytorch-{coreType ?? "default"}.json");
            var info = new ProcessStartInfo(python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { options.Reference, "--threads", $"{options.Threads}", "--warmup", $"{warmup}", "--repeats", $"{repeats}", "--json", file })
                info.ArgumentList.Add(a);
            info.Environment["OMP_NUM_THREADS"] = $"{options.Threads}";
            info.Environment["OPENBLAS_NUM_THREADS"] = $"{options.Threads}";
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
                python, $"OMP_NUM_THREADS={options.Threads} OPENBLAS_NUM_THREADS={options.Threads} OPENBLAS_CORETYPE={coreType ?? "(auto)"}");
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

    private string? FindPython()
        => options.Python is not null ? (CanImportTorch(options.Python) ? options.Python : null) : new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(CanImportTorch);

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
