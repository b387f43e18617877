using TorchSharp.Modules;

namespace PhasedDmd.Training;

/// <summary>One process: every collective operation over one process is the identity.</summary>
public sealed class SingleProcess : IGradientSync
{
    public static readonly SingleProcess Instance = new();
    public int Rank => 0;
    public int WorldSize => 1;
    public void AverageGradients(IReadOnlyList<Parameter> parameters) { }
    public bool AllFinite(bool localFinite) => localFinite;
    public bool AnyTrue(bool local) => local;
    public byte[][] AllGather(byte[] local) => [local];
    public void RequireIdentical(IReadOnlyList<Parameter> parameters, string what) { }
}
