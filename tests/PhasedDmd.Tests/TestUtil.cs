using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests;

/// <summary>Tests that touch libtorch's global state (seed, threads) or the console run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
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

    public static string TempDir(string prefix = "pdmd")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
