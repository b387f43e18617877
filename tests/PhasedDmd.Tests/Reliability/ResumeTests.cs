using System.Diagnostics;
using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Training;
using TorchSharp.PyBridge;
using Xunit;

namespace PhasedDmd.Tests.Reliability;

/// <summary>A tiny teacher and a tiny distillation config shared by the crash-and-resume tests.</summary>
public sealed class ResumeFixture
{
    public string Root { get; } = TestUtil.TempDir("pdmd-resume");
    public string Teacher => Path.Combine(Root, "teacher");
    public string Config => Path.Combine(Root, "distill.json");
    public string Reference => Path.Combine(Root, "uninterrupted");

    public ResumeFixture()
    {
        TeacherTrainer.Train(new TeacherConfig { Task = "ring8", Hidden = 32, Layers = 3, Iterations = 200, BatchSize = 128, LogEvery = 100 }, Teacher);
        Json.Write(Config, new DistillConfig
        {
            Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 40, BatchSize = 64, FakeUpdatesPerGeneratorUpdate = 2,
            CheckpointEvery = 5, LogEvery = 5, Threads = 1, Seed = 7,
        });
        var (code, err) = ResumeTests.Cli(null, "distill", "--teacher", Teacher, "--config", Config, "--out", Reference);
        if (code != 0) throw new InvalidOperationException($"uninterrupted run failed ({code}): {err}");
    }
}

/// <summary>
/// Kill the CLI (SIGKILL) in the middle of a phase and exactly at a phase boundary, resume,
/// and compare with the uninterrupted run: the weights must agree to 1e-5.
/// </summary>
[Collection(SerialCollection.Name)]
public class ResumeTests(ResumeFixture fixture) : IClassFixture<ResumeFixture>
{
    internal static (int Code, string Stderr) Cli(IDictionary<string, string>? env, params string[] args)
    {
        using var p = Start(env, args);
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, err.Result);
    }

    private static Process Start(IDictionary<string, string>? env, params string[] args)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "phased-dmd.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) info.Environment[k] = v;
        return Process.Start(info)!;
    }

    private void AssertSameWeights(string dir) => TestUtil.AssertSameWeights(fixture.Reference, dir);

    [Fact]
    public void Killed_mid_phase_then_resumed_matches_the_uninterrupted_run()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "run");
        using (var p = Start(null, "distill", "--teacher", fixture.Teacher, "--config", fixture.Config, "--out", dir))
        {
            TestUtil.WaitForCheckpoint(dir, 15, p, "killed");
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(dir, ModelDirectory.WeightsFile)));
        var (code, err) = Cli(null, "distill", "--teacher", fixture.Teacher, "--resume", dir);
        Assert.True(code == 0, err);
        AssertSameWeights(dir);
        // The log has each step once, in order.
        var steps = File.ReadAllLines(Path.Combine(dir, ModelDirectory.LogFile)).Skip(1).Select(l => long.Parse(l.Split(',')[0])).ToList();
        Assert.Equal(steps.Order().Distinct(), steps);
        Assert.Equal(80, steps[^1]);
    }

    [LinuxFact]
    public async Task Sigterm_mid_phase_writes_a_checkpoint_exits_143_and_the_resumed_run_matches()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "run");
        using (var p = Start(null, "distill", "--teacher", fixture.Teacher, "--config", fixture.Config, "--out", dir))
        {
            var err = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEndAsync();
            TestUtil.WaitForCheckpoint(dir, 15, p, "signalled");
            Distributed.Mpi.Signal(p.Id, 15);
            Assert.True(p.WaitForExit(60_000), "no exit within a minute of SIGTERM");
            Assert.Equal(143, p.ExitCode);
            Assert.Contains("SIGTERM", await err);
        }
        Assert.False(File.Exists(Path.Combine(dir, ModelDirectory.WeightsFile)));
        var (code, stderr) = Cli(null, "distill", "--teacher", fixture.Teacher, "--resume", dir);
        Assert.True(code == 0, stderr);
        AssertSameWeights(dir);
    }

    [Fact]
    public void Killed_exactly_at_the_phase_boundary_then_resumed_matches_and_survives_a_corrupted_checkpoint()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "run");
        var (killed, _) = Cli(new Dictionary<string, string> { ["PHASEDDMD_FAULT_KILL_AFTER_PHASE"] = "1" },
            "distill", "--teacher", fixture.Teacher, "--config", fixture.Config, "--out", dir);
        Assert.NotEqual(0, killed);
        var store = new CheckpointStore(Path.Combine(dir, "checkpoints"));
        Assert.Equal(40, store.List()[0].Step);                     // the boundary checkpoint after phase 1

        // Damage the newest checkpoint: resume must fall back to the previous one (step 35) and still end identical.
        var student = Path.Combine(store.List()[0].Path, "student.safetensors");
        var bytes = File.ReadAllBytes(student);
        bytes[^10] ^= 0x5A;
        File.WriteAllBytes(student, bytes);
        var (code, err) = Cli(null, "distill", "--teacher", fixture.Teacher, "--resume", dir);
        Assert.True(code == 0, err);
        Assert.Contains("damaged", err);
        AssertSameWeights(dir);
    }

    [Fact]
    public void Resuming_with_a_different_config_is_refused_naming_the_keys()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "run");
        var (killed, _) = Cli(new Dictionary<string, string> { ["PHASEDDMD_FAULT_KILL_AFTER_PHASE"] = "1" },
            "distill", "--teacher", fixture.Teacher, "--config", fixture.Config, "--out", dir);
        Assert.NotEqual(0, killed);
        var before = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        var (code, err) = Cli(null, "distill", "--teacher", fixture.Teacher, "--resume", dir, "--lr", "0.01", "--batch-size", "32");
        Assert.Equal(2, code);
        Assert.Contains("generatorLearningRate", err);
        Assert.Contains("batchSize", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // Nothing already saved was touched.
        foreach (var (f, content) in before) Assert.Equal(content, File.ReadAllBytes(f));
    }

    [Fact]
    public void A_diverging_run_stops_naming_phase_and_iteration_and_keeps_its_checkpoint()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "run");
        var (code, err) = Cli(null, "distill", "--teacher", fixture.Teacher, "--config", fixture.Config, "--lr", "1e30", "--fake-lr", "1e30", "--out", dir);
        Assert.Equal(3, code);
        Assert.Matches("diverged in phase 1 at iteration [0-9]+", err);
        var store = new CheckpointStore(Path.Combine(dir, "checkpoints"));
        Assert.NotNull(store.LatestValid());
    }
}
