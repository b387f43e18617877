using TorchSharp.Modules;

namespace PhasedDmd.Training;

/// <summary>
/// The data-parallel seam of the training loops: which process this is among how many, and the
/// collective operations the loops need. Before every optimizer step the loops average the
/// gradients of the model they update; they decide whether to skip a non-finite update through
/// <see cref="AllFinite"/> and whether to stop through <see cref="AnyTrue"/>, so that every process
/// steps, skips and stops together; and only the process with <see cref="Rank"/> 0 writes logs,
/// checkpoints and the model. Every member is collective: all processes call it, in the same order.
/// </summary>
public interface IGradientSync
{
    int Rank { get; }
    int WorldSize { get; }

    /// <summary>Replaces every parameter's gradient by its mean over the processes.</summary>
    void AverageGradients(IReadOnlyList<Parameter> parameters);

    /// <summary>True when <paramref name="localFinite"/> is true on every process.</summary>
    bool AllFinite(bool localFinite);

    /// <summary>True when <paramref name="local"/> is true on any process (e.g. one of them was asked to stop).</summary>
    bool AnyTrue(bool local);

    /// <summary>Every process's <paramref name="local"/> bytes (all of the same length), indexed by rank.</summary>
    byte[][] AllGather(byte[] local);

    /// <summary>Stops the run (a <see cref="DivergenceException"/>) if the parameters are not the same on every process.</summary>
    void RequireIdentical(IReadOnlyList<Parameter> parameters, string what);
}
