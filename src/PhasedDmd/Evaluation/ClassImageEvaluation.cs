using System.Text.Json.Nodes;
using PhasedDmd.IO;
using PhasedDmd.Sampling;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// The evaluation protocol of a class-conditional image task on real data (<see cref="IClassImageTask"/>), shared by <c>eval</c>,
/// <c>compare</c> and <c>demo</c>: a model samples every class on the same seeds (row r of the grid from seed + r), and the grid is
/// measured (<see cref="ClassImageMetrics"/>) against the test split's grid of the same size; the training split's grid, measured
/// the same way, is the data's own level (<c>data</c> in the JSON).
/// </summary>
public sealed class ClassImageEvaluation : IDisposable
{
    public IClassImageTask Task { get; }
    public int PerClass { get; }
    public FeatureEncoder Encoder { get; }

    public ClassImageEvaluation(IClassImageTask task, int perClass, string encoderDir, string encoderOption = "encoder")
    {
        if (perClass <= ClassImageMetrics.Neighbours) throw new InputException($"seeds: the class grid needs more than {ClassImageMetrics.Neighbours} samples per class (got {perClass})");
        Task = task;
        PerClass = perClass;
        Encoder = EncoderTraining.LoadFor(encoderDir, task.Name, encoderOption);
    }

    /// <summary>The task's own protocol: its samples per class and its shipped classifier, unless others are given.</summary>
    public static ClassImageEvaluation Standard(IClassImageTask task, int? perClass = null, string? encoderDir = null, string encoderOption = "encoder")
        => new(task, perClass ?? task.EvaluationSamplesPerClass,
               encoderDir ?? EncoderTraining.Shipped(task.Name) ?? throw new InputException($"{encoderOption}: no classifier for {task.Name} is shipped; train one with train-encoder --task {task.Name} and give it with {encoderOption} DIR"),
               encoderOption);

    /// <summary>The model's class grid [perClass × classes, …], on the CPU.</summary>
    public Tensor Sample(LoadedModel model, SampleOptions options, Action<int, int>? progress = null)
        => ModelSampling.SampleClassGrid(model, Task.ClassNames, PerClass, options, progress);

    /// <summary>The measures of a grid against the test split.</summary>
    public ClassImageMetrics Measure(Tensor grid)
    {
        using var reference = Task.ReferenceGrid(PerClass);
        return ClassImageMetrics.Evaluate(Encoder, grid, reference, Task.ClassNames.Count);
    }

    /// <summary>The same measures of real training images against the test split: what a perfect generator would score at this size.</summary>
    public ClassImageMetrics MeasureRealData(int seed)
    {
        using var real = Task.TrainingGrid(PerClass, seed);
        return Measure(real);
    }

    /// <summary>The model's measures with the data's under <c>data</c>, as a snake_case JSON object.</summary>
    public JsonObject Report(Tensor grid, int seed)
    {
        var node = JsonNode.Parse(Json.SerializeMetrics(Measure(grid)))!.AsObject();
        node["data"] = JsonNode.Parse(Json.SerializeMetrics(MeasureRealData(seed)));
        return node;
    }

    /// <summary>
    /// How alike two class grids drawn from the same noises are, cell by cell (<see cref="DiversityMetrics.PairedCosine"/> and
    /// <see cref="DiversityMetrics.PairedPerceptual"/> over the first <see cref="ClassImageMetrics.PerceptualSeeds"/> seeds), as a
    /// snake_case JSON object: the Fig. 5 analogue's "same composition" between a student and one whose high-SNR expert trained longer.
    /// </summary>
    public JsonObject Paired(Tensor grid, Tensor other)
    {
        if (!grid.shape.SequenceEqual(other.shape)) throw new InputException($"--paired-with: the two grids differ in shape ([{string.Join(", ", grid.shape)}] and [{string.Join(", ", other.shape)}])");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var classes = Task.ClassNames.Count;
        var (cosine, cosineApart) = DiversityMetrics.PairedCosine(Encoder.Embed(grid.to(ScalarType.Float32).cpu()), Encoder.Embed(other.to(ScalarType.Float32).cpu()), classes, PerClass);
        var seeds = Math.Min(PerClass, ClassImageMetrics.PerceptualSeeds);
        var (perceptual, perceptualApart) = DiversityMetrics.PairedPerceptual(Encoder, grid[..(seeds * classes)].to(ScalarType.Float32).cpu(), other[..(seeds * classes)].to(ScalarType.Float32).cpu(), classes, seeds);
        return new JsonObject
        {
            ["feature_cosine"] = cosine, ["feature_cosine_other_noise"] = cosineApart,
            ["perceptual"] = perceptual, ["perceptual_other_noise"] = perceptualApart,
        };
    }

    public void Dispose() => Encoder.Dispose();
}
