using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using PhasedDmd.IO;
using PhasedDmd.Training;
using TorchSharp.PyBridge;
using Xunit;

namespace PhasedDmd.Tests.Distributed;

/// <summary>A fact that needs Open MPI's mpirun (Debian's openmpi-bin; .ci/run installs it); skipped, with the reason, without it.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (Mpi.Launcher is null) Skip = "Open MPI's launcher (mpirun.openmpi) is not installed (apt-get install openmpi-bin); an mpirun of another MPI is not used";
    }
}

/// <summary>Runs the CLI under Open MPI's mpirun on loopback, one libtorch thread per rank.</summary>
internal static class Mpi
{
    /// <summary>
    /// Open MPI's own launcher: <c>mpirun.openmpi</c> (Debian's name for it), or an <c>mpirun</c> that says it is
    /// Open MPI. A plain <c>mpirun</c> may be MPICH's, which takes none of the flags <see cref="Start"/> passes.
    /// </summary>
    public static readonly string? Launcher =
        new[] { "/usr/bin/mpirun.openmpi", "/usr/local/bin/mpirun.openmpi" }.FirstOrDefault(File.Exists)
        ?? new[] { "/usr/bin/mpirun", "/usr/local/bin/mpirun" }.FirstOrDefault(p => File.Exists(p) && SaysOpenMpi(p));

    private static bool SaysOpenMpi(string launcher)
    {
        try
        {
            var info = new ProcessStartInfo(launcher, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(info)!;
            var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            if (!p.WaitForExit(10_000)) p.Kill(entireProcessTree: true);
            return text.Contains("Open MPI", StringComparison.Ordinal) || text.Contains("OpenRTE", StringComparison.Ordinal);
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
    public static string Cli => Path.Combine(AppContext.BaseDirectory, "phased-dmd.dll");

    public sealed class Job(Process process, StringBuilder output) : IDisposable
    {
        public Process Process => process;
        public string Output { get { lock (output) return output.ToString(); } }

        /// <summary>Waits for the job; -1 if it did not end within <paramref name="timeout"/> (it is then killed).</summary>
        public int Wait(TimeSpan timeout)
        {
            if (process.WaitForExit(timeout)) { process.WaitForExit(); return process.ExitCode; }
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return -1;
        }

        public void Dispose()
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.Dispose();
        }
    }

    /// <summary>Starts <c>mpirun -n ranks dotnet phased-dmd.dll args</c> (ranks = 0: the CLI alone, no launcher).</summary>
    public static Job Start(int ranks, params string[] args)
    {
        var info = new ProcessStartInfo(ranks > 0 ? Launcher! : Dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (ranks > 0)
        {
            foreach (var a in new[] { "-n", ranks.ToString(), "--oversubscribe", "--bind-to", "none", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo", Dotnet })
                info.ArgumentList.Add(a);
            info.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";          // CI runs as root
            info.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        }
        info.ArgumentList.Add(Cli);
        foreach (var a in args) info.ArgumentList.Add(a);
        var output = new StringBuilder();
        var p = new Process { StartInfo = info };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return new Job(p, output);
    }

    public static (int Code, string Output) Run(int ranks, params string[] args)
    {
        using var job = Start(ranks, args);
        var code = job.Wait(TimeSpan.FromMinutes(3));
        return (code, job.Output);
    }

    /// <summary>The rank processes (not the launcher) whose command line contains <paramref name="marker"/>.</summary>
    public static List<int> RankPids(string marker)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string[] argv;
            try { argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0'); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            var launcher = argv[0] == Launcher || Path.GetFileName(argv[0]).StartsWith("mpirun", StringComparison.Ordinal);
            if (argv.Length > 1 && !launcher && argv.Contains(Cli) && argv.Any(a => a.Contains(marker))) pids.Add(pid);
        }
        return pids;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public static void Signal(int pid, int signal) => kill(pid, signal);
}

/// <summary>A tiny teacher, a tiny distillation config, and its uninterrupted 2-rank run.</summary>
public sealed class MpiFixture
{
    public string Root { get; } = TestUtil.TempDir("pdmd-mpi");
    public string Teacher => Path.Combine(Root, "teacher");
    public string Config => Path.Combine(Root, "distill.json");
    public string Reference => Path.Combine(Root, "two-ranks");
    public string ReferenceOutput { get; } = "";

    public MpiFixture()
    {
        if (Mpi.Launcher is null) return;
        TeacherTrainer.Train(new TeacherConfig { Task = "ring8", Hidden = 32, Layers = 3, Iterations = 200, BatchSize = 128, LogEvery = 100 }, Teacher);
        Json.Write(Config, new global::PhasedDmd.Distillation.DistillConfig
        {
            Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 60, BatchSize = 64, FakeUpdatesPerGeneratorUpdate = 2,
            CheckpointEvery = 5, LogEvery = 5, Threads = 1, Seed = 7,
        });
        var (code, output) = Mpi.Run(2, "distill", "--teacher", Teacher, "--config", Config, "--out", Reference);
        if (code != 0) throw new InvalidOperationException($"uninterrupted 2-rank run failed ({code}): {output}");
        ReferenceOutput = output;
    }
}

/// <summary>
/// Data-parallel training over 2 ranks of Open MPI on loopback: gradients averaged over the ranks'
/// shares equal one process's gradients of the whole batch; parameters stay identical; a killed
/// rank ends the job without a hang, and SIGTERM checkpoints and exits 143, both resuming exactly.
/// </summary>
[Collection(SerialCollection.Name)]
public class MpiTests(MpiFixture fixture) : IClassFixture<MpiFixture>
{
    private static double Value(string output, string label)
        => double.Parse(Regex.Match(output, Regex.Escape(label) + @" = (\S+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [MpiFact]
    public void Gradients_averaged_over_two_ranks_equal_the_whole_batch_gradient_and_a_rank_that_drifts_is_caught()
    {
        var (code, output) = Mpi.Run(2, "mpi-check", "--batch-size", "64");
        Assert.True(code == 0, output);
        Assert.Contains("data-parallel over 2 ranks", output);
        Assert.Contains("collectives (mean, any, all, gather): correct", output);
        Assert.InRange(Value(output, "fake score gradient: max |averaged - whole batch|"), 0, 1e-5);
        Assert.InRange(Value(output, "generator gradient: max |averaged - whole batch|"), 0, 1e-5);
        Assert.Contains("parameters identical on every rank after a step: yes", output);

        (code, output) = Mpi.Run(2, "mpi-check", "--perturb-rank", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("parameters identical on every rank after a step: NO", output);
    }

    [MpiFact]
    public void A_two_rank_run_says_so_once_and_writes_every_ranks_random_stream()
    {
        Assert.Single(Regex.Matches(fixture.ReferenceOutput, "data-parallel over 2 ranks"));
        var newest = new CheckpointStore(Path.Combine(fixture.Reference, "checkpoints")).List()[0].Path;
        Assert.True(File.Exists(Path.Combine(newest, "rng.safetensors")));
        Assert.True(File.Exists(Path.Combine(newest, "rng-rank1.safetensors")));
        Assert.Contains("\"worldSize\": 2", File.ReadAllText(Path.Combine(newest, "progress.json")));
        Assert.True(File.Exists(Path.Combine(fixture.Reference, ModelDirectory.CardFile)));
    }

    [MpiFact]
    public void A_killed_rank_ends_the_job_without_a_hang_and_the_resumed_run_matches_the_uninterrupted_one()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "run");
        using (var job = Mpi.Start(2, "distill", "--teacher", fixture.Teacher, "--config", fixture.Config, "--out", dir))
        {
            TestUtil.WaitForCheckpoint(dir, 20, job.Process);
            var ranks = Mpi.RankPids(dir);
            Assert.Equal(2, ranks.Count);
            Mpi.Signal(ranks.Max(), 9);
            var clock = Stopwatch.StartNew();
            var code = job.Wait(TimeSpan.FromMinutes(1));
            Assert.True(code != -1, "the job hung after a rank was killed");
            Assert.NotEqual(0, code);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"the job took {clock.Elapsed} to stop");
            Assert.Matches("rank [01] .*(signal 9|Killed)", job.Output.ReplaceLineEndings(" "));   // the launcher names the rank
        }
        Assert.NotNull(new CheckpointStore(Path.Combine(dir, "checkpoints")).LatestValid());
        var (resumed, output) = Mpi.Run(2, "distill", "--teacher", fixture.Teacher, "--resume", dir);
        Assert.True(resumed == 0, output);
        AssertSameWeights(dir);
    }

    [MpiFact]
    public void Sigterm_to_the_ranks_checkpoints_and_exits_143_and_only_the_same_rank_count_resumes_it()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "run");
        using (var job = Mpi.Start(2, "distill", "--teacher", fixture.Teacher, "--config", fixture.Config, "--out", dir))
        {
            TestUtil.WaitForCheckpoint(dir, 20, job.Process);
            foreach (var pid in Mpi.RankPids(dir)) Mpi.Signal(pid, 15);   // what SLURM sends every task before pre-emption
            var code = job.Wait(TimeSpan.FromMinutes(1));
            Assert.True(code == 143, job.Output);
            Assert.Contains("SIGTERM: finishing the current update and writing a checkpoint", job.Output);
        }
        Assert.False(File.Exists(Path.Combine(dir, ModelDirectory.CardFile)));
        var before = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

        var (single, err) = Mpi.Run(0, "distill", "--teacher", fixture.Teacher, "--resume", dir);
        Assert.Equal(2, single);
        Assert.Contains("written by 2 ranks and this run has 1 rank", err);
        foreach (var (f, content) in before) Assert.Equal(content, File.ReadAllBytes(f));

        var (resumed, output) = Mpi.Run(2, "distill", "--teacher", fixture.Teacher, "--resume", dir);
        Assert.True(resumed == 0, output);
        AssertSameWeights(dir);
    }

    [MpiFact]
    public void A_teacher_trains_over_two_ranks_and_a_batch_that_does_not_split_is_refused()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "teacher");
        var (code, output) = Mpi.Run(2, "train-teacher", "--task", "ring8", "--hidden", "32", "--layers", "3", "--iterations", "60",
                                     "--batch-size", "128", "--threads", "1", "--out", dir);
        Assert.True(code == 0, output);
        Assert.Contains("data-parallel over 2 ranks", output);
        Assert.True(File.Exists(Path.Combine(dir, ModelDirectory.CardFile)));

        (code, output) = Mpi.Run(2, "distill", "--teacher", fixture.Teacher, "--config", fixture.Config, "--batch-size", "63",
                                 "--out", Path.Combine(TestUtil.TempDir(), "odd"));
        Assert.NotEqual(0, code);
        Assert.Contains("the batch of 63 does not split evenly over 2 processes", output);
    }

    [MpiFact]
    public void Micro_batches_on_each_rank_train_the_same_student_as_whole_shares()
    {
        // Each rank's share of 32 in two micro-batches of 16: the gradients add up to the share's before they are averaged.
        var whole = Path.Combine(TestUtil.TempDir(), "whole");
        var micro = Path.Combine(TestUtil.TempDir(), "micro");
        foreach (var (dir, extra) in new[] { (whole, Array.Empty<string>()), (micro, ["--micro-batch", "16"]) })
        {
            var (code, output) = Mpi.Run(2, ["distill", "--teacher", fixture.Teacher, "--config", fixture.Config, "--iterations-per-phase", "4", .. extra, "--out", dir]);
            Assert.True(code == 0, output);
        }
        Assert.Contains("\"microBatch\": 16", File.ReadAllText(Path.Combine(micro, ModelDirectory.RunConfigFile)));
        var a = TorchSharp.PyBridge.Safetensors.LoadStateDict(Path.Combine(whole, ModelDirectory.WeightsFile));
        var b = TorchSharp.PyBridge.Safetensors.LoadStateDict(Path.Combine(micro, ModelDirectory.WeightsFile));
        var worst = a.Max(kv => TestUtil.MaxAbs(kv.Value, b[kv.Key]));
        Assert.True(worst <= 1e-5, $"max |Δw| = {worst}");
    }

    [Theory]
    [InlineData("OMPI_COMM_WORLD_LOCAL_RANK", "cuda", "cuda:1")]   // Open MPI's mpirun
    [InlineData("MPI_LOCALRANKID", "cuda", "cuda:1")]              // MPICH's Hydra
    [InlineData("SLURM_LOCALID", "cuda", "cuda:1")]                // srun
    [InlineData("LOCAL_RANK", "cuda", "cuda:1")]                   // torchrun
    [InlineData("OMPI_COMM_WORLD_LOCAL_RANK", "cuda:0", "cuda:0")] // an explicit index overrides the launcher's
    [InlineData("OMPI_COMM_WORLD_LOCAL_RANK", "cpu", "cpu")]
    [InlineData("NO_LAUNCHER", "cuda", "cuda")]                     // a plain process keeps libtorch's default GPU
    public void Every_rank_takes_the_gpu_of_its_local_rank(string variable, string device, string expected)
    {
        Assert.Equal(expected, DataParallel.DeviceFor(device, name => name == variable ? "1" : null));
    }

    [Fact]
    public async Task A_launcher_whose_ranks_the_mpi_library_does_not_see_is_refused()
    {
        var launch = DataParallel.Detect(name => name switch { "OMPI_COMM_WORLD_SIZE" => "4", "OMPI_COMM_WORLD_RANK" => "3", _ => null });
        Assert.Equal(new DataParallel.Launch(3, 4, MpiAbi.OpenMpi, "Open MPI's mpirun"), launch);
        Assert.Equal(MpiAbi.Mpich, DataParallel.Detect(name => name switch { "PMI_SIZE" => "2", "PMI_RANK" => "1", _ => null })!.Abi);
        Assert.Null(DataParallel.Detect(_ => null));
        if (Mpi.Launcher is null) return;   // the rest needs Open MPI's library
        // A process that the environment calls rank 0 of 2, started without that launcher: the library sees 1 rank.
        var info = new ProcessStartInfo(Mpi.Dotnet) { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(Mpi.Cli);
        info.ArgumentList.Add("mpi-check");
        info.Environment["OMPI_COMM_WORLD_SIZE"] = "2";
        info.Environment["OMPI_COMM_WORLD_RANK"] = "0";
        using var p = Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000));
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("started 2 ranks but libmpi.so.40 sees 1", await err);
    }

    private void AssertSameWeights(string dir) => TestUtil.AssertSameWeights(fixture.Reference, dir);
}
