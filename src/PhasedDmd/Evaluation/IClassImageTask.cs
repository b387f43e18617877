using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// A class-conditional image task on a real data set (<see cref="ClassImageEvaluation"/>): a model is sampled on a class grid
/// (every class, the same number of seeds each) and measured in the feature space of the task's classifier against the data
/// set's test split; the training split gives the data's own level of every measure.
/// </summary>
public interface IClassImageTask : IEncoderTask
{
    /// <summary>The classes in label order; a model's conditions file names its rows with them.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>Shape of one image, [C, H, W].</summary>
    long[] SampleShape { get; }

    /// <summary>Samples per class of the evaluation grid (the default of <c>eval</c> and <c>compare</c>).</summary>
    int EvaluationSamplesPerClass { get; }

    /// <summary>The reference: the test split's first <paramref name="perClass"/> images of every class, laid out as a model's class grid [perClass × classes, …].</summary>
    Tensor ReferenceGrid(int perClass);

    /// <summary>Real images of the training split drawn at random (from <paramref name="seed"/>), laid out as a class grid: the data's own level of every measure.</summary>
    Tensor TrainingGrid(int perClass, int seed);
}
