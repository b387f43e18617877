using TorchSharp.Modules;

namespace PhasedDmd.Training;

/// <summary>
/// The data-parallel seam of the training loops: which process this is among how many, and the
/// collective operations the loops need. Before every optimizer step the loops average the
/// gradients of the model they update; they decide whether to skip a non-finite update through
/// <see cref="AllFinite"/>, so that every process steps or skips together; and only the process
/// with <see cref="Rank"/> 0 writes logs, checkpoints and the model.
/// </summary>
public interface IGradientSync
{
    int Rank { get; }
    int WorldSize { get; }

    /// <summary>Replaces every parameter's gradient by its mean over the processes.</summary>
    void AverageGradients(IReadOnlyList<Parameter> parameters);

    /// <summary>True when <paramref name="localFinite"/> is true on every process.</summary>
    bool AllFinite(bool localFinite);
}
