using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests;

/// <summary>Tests that touch libtorch's global state (seed, threads) or the console run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
}

/// <summary>A fact that only means something on Linux (it reads /proc); skipped, with the reason, elsewhere.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "reads Linux's /proc";
    }
}

/// <summary>A fact about a CPU-only libtorch build; skipped, with the reason, where CUDA is available.</summary>
public sealed class CpuOnlyFactAttribute : FactAttribute
{
    public CpuOnlyFactAttribute()
    {
        if (TorchSharp.torch.cuda.is_available()) Skip = "checks the error of a CPU-only libtorch build; this one has CUDA";
    }
}

internal static class TestUtil
{
    public static double MaxAbs(Tensor a, Tensor b)
    {
        using var d = (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max();
        return d.item<double>();
    }

    public static double Scalar(Tensor t)
    {
        using (t) return t.to(ScalarType.Float64).item<double>();
    }

    /// <summary>The repository root (the folder holding PhasedDmd.slnx), found from the test assembly's location.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PhasedDmd.slnx"))) return dir.FullName;
        throw new InvalidOperationException("PhasedDmd.slnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The model weights in <paramref name="actualDir"/> equal those in <paramref name="expectedDir"/> within 1e-5 (the exact-resume criterion).</summary>
    public static void AssertSameWeights(string expectedDir, string actualDir)
    {
        var expected = TorchSharp.PyBridge.Safetensors.LoadStateDict(Path.Combine(expectedDir, PhasedDmd.IO.ModelDirectory.WeightsFile));
        var actual = TorchSharp.PyBridge.Safetensors.LoadStateDict(Path.Combine(actualDir, PhasedDmd.IO.ModelDirectory.WeightsFile));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        var worst = expected.Max(kv => MaxAbs(kv.Value, actual[kv.Key]));
        Assert.True(worst <= 1e-5, $"max |Δw| = {worst}");
    }

    /// <summary>Waits (up to two minutes) until the run in <paramref name="dir"/> has a checkpoint at update ≥ <paramref name="step"/>; fails if <paramref name="process"/> ended first.</summary>
    public static void WaitForCheckpoint(string dir, long step, System.Diagnostics.Process process, string what = "interrupted")
    {
        var store = new PhasedDmd.IO.CheckpointStore(Path.Combine(dir, "checkpoints"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!process.HasExited && store.List().FirstOrDefault().Step < step && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(20);
        Assert.False(process.HasExited, $"the run finished before it could be {what}");
    }

    /// <summary>Runs the command line in this process and returns its exit code and what it wrote to stderr (tests that do so run serially).</summary>
    public static (int Code, string Stderr) RunCli(params string[] args)
    {
        var previous = Console.Error;
        var err = new StringWriter();
        Console.SetError(err);
        try { return (PhasedDmd.Cli.PhasedDmdApp.Run(args), err.ToString()); }
        finally { Console.SetError(previous); }
    }

    public static string TempDir(string prefix = "pdmd")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>Runs the library's module initializers (the oneDNN cap among them) before any test can run a convolution, and points the cache at a fresh folder.</summary>
internal static class LibraryFirst
{
    [System.Runtime.CompilerServices.ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "a test may use TorchSharp before it touches the library")]
    internal static void Load()
    {
        System.Runtime.CompilerServices.RuntimeHelpers.RunModuleConstructor(typeof(PhasedDmd.Models.OneDnn).Module.ModuleHandle);
        // The validation monitor's cache of teacher samples: one fresh folder per test run (and its child processes), never the user's.
        Environment.SetEnvironmentVariable("PHASED_DMD_CACHE", TestUtil.TempDir("pdmd-cache"));
    }
}
