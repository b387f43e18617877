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

    public void Dispose() => Encoder.Dispose();
}
