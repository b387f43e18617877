using System.Text.Json.Nodes;
using PhasedDmd.IO;
using PhasedDmd.Sampling;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// The evaluation protocol of a text-conditioned task (<see cref="IPromptGridTask"/>), shared by <c>eval</c>, <c>compare</c>
/// and <c>demo</c>: a model is sampled on the prompts × seeds grid (row r uses seed + r for every prompt),
/// the task's reader measures prompt following and layout diversity, and the feature encoder (when
/// there is one) the diversity, composition and Fréchet measures against real samples of the same prompts.
/// </summary>
public sealed class PromptGridEvaluation : IDisposable
{
    public IPromptGridTask Task { get; }
    public IReadOnlyList<string> Prompts { get; }
    public int Seeds { get; }
    /// <summary>The feature encoder of the task; null when none was given or shipped (feature measures are then left out).</summary>
    public FeatureEncoder? Encoder { get; }

    /// <param name="encoderDir">A feature encoder directory (from train-encoder), or null for none.</param>
    public PromptGridEvaluation(IPromptGridTask task, IReadOnlyList<string> prompts, int seeds, string? encoderDir, string encoderOption = "encoder")
    {
        Task = task;
        Prompts = prompts;
        Seeds = seeds;
        if (encoderDir is not null) Encoder = EncoderTraining.LoadFor(encoderDir, task.Name, encoderOption);
    }

    /// <summary>The task's own protocol: every evaluation prompt, its default seeds, and its shipped encoder when there is one.</summary>
    public static PromptGridEvaluation Standard(IPromptGridTask task, int? seeds = null, string? encoderDir = null, string encoderOption = "encoder")
        => new(task, task.EvaluationPrompts(), seeds ?? task.Data.EvaluationSeeds, encoderDir ?? EncoderTraining.Shipped(task.Name), encoderOption);

    /// <summary>The model's samples on the grid, [seeds × prompts, …] row-major, on the CPU.</summary>
    public Tensor Sample(LoadedModel model, SampleOptions options)
        => ModelSampling.SamplePromptGrid(model, Prompts, Seeds, options, Task.Data.SharesNoiseAcrossPrompts);

    /// <summary>The task's measures of a grid, with the encoder's under <c>features</c>, as a snake_case JSON object.</summary>
    public JsonObject Measure(Tensor grid, int seed)
    {
        var node = Task.Measure(grid.data<float>().ToArray(), Prompts, Seeds);
        if (Encoder is not null) node["features"] = JsonNode.Parse(Json.SerializeMetrics(EncoderMetrics.Evaluate(Encoder, grid, Prompts, Seeds, seed)));
        return node;
    }

    /// <summary>The task's measures (no encoder) of real samples laid out as the grid (<see cref="IPromptGridTask.RealGrid"/>): the data's own level of each measure.</summary>
    public JsonObject MeasureRealData(int seed)
    {
        using var real = Task.RealGrid(Prompts, Seeds, seed);
        return Task.Measure(real.data<float>().ToArray(), Prompts, Seeds);
    }

    /// <summary>The numeric leaves of a JSON object as dotted keys (<c>features.composition.wasserstein</c>).</summary>
    public static Dictionary<string, double> Flatten(JsonNode? node)
    {
        var result = new Dictionary<string, double>();
        void Walk(JsonNode? n, string prefix)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach (var (k, v) in o) Walk(v, prefix.Length == 0 ? k : $"{prefix}.{k}");
                    break;
                case JsonValue v when v.TryGetValue<double>(out var d):
                    result[prefix] = d;
                    break;
            }
        }
        Walk(node, "");
        return result;
    }

    public void Dispose() => Encoder?.Dispose();
}
