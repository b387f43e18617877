using PhasedDmd.Data;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>A task with a feature encoder (<see cref="FeatureEncoder"/>, trained by <c>train-encoder</c>): what the encoder predicts and the real data it learns from.</summary>
public interface IEncoderTask : ITask
{
    /// <summary>The feature encoder's shape for this task (what it is trained to predict), or null when the task has none.</summary>
    EncoderSpec? Encoder { get; }

    /// <summary>A batch of real training samples with the encoder's targets: categorical indices [N, heads] and normalised regressions [N, r].</summary>
    (Tensor X, Tensor Categories, Tensor Regressions) EncoderBatch(int n, Generator generator);

    /// <summary>The held-out samples the trained encoder is scored on (by default n fresh draws; a data set's own test split where it has one).</summary>
    (Tensor X, Tensor Categories, Tensor Regressions) EncoderValidation(int n, Generator generator) => EncoderBatch(n, generator);
}
