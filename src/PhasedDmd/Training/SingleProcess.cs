using TorchSharp.Modules;

namespace PhasedDmd.Training;

/// <summary>One process: averaging over one process is the identity.</summary>
public sealed class SingleProcess : IGradientSync
{
    public static readonly SingleProcess Instance = new();
    public int Rank => 0;
    public int WorldSize => 1;
    public void AverageGradients(IReadOnlyList<Parameter> parameters) { }
    public bool AllFinite(bool localFinite) => localFinite;
}
