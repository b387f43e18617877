using PhasedDmd.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Sampling;

/// <summary>Conditions drawn from a conditions file: rows chosen uniformly at random, each prompt or class equally often.</summary>
public sealed class FileConditions(ConditionsFile file) : IConditionSource, IDisposable
{
    public ConditionsFile File { get; } = file;

    public Tensor Sample(int n, Generator generator)
    {
        using var indices = torch.randint(File.Count, [n], generator: generator);
        return File.Rows(indices);
    }

    /// <summary>n copies of row <paramref name="index"/>.</summary>
    public Tensor Repeat(int index, int n)
    {
        using var indices = torch.full(n, index, dtype: ScalarType.Int64);
        return File.Rows(indices);
    }

    public void Dispose() => File.Dispose();
}
