using System.Text.Json.Nodes;
using PhasedDmd.Data;
using PhasedDmd.IO;
using PhasedDmd.Sampling;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// The evaluation protocol of a text-conditioned task (glyphs, motion, motion-free), shared by <c>eval</c> and
/// <c>demo</c>: a model is sampled on the prompts × seeds grid (row r uses seed + r for every prompt),
/// the task's reader measures prompt following and layout diversity, and the feature encoder (when
/// there is one) the diversity, composition and Fréchet measures against real samples of the same prompts.
/// </summary>
public sealed class PromptGridEvaluation : IDisposable
{
    public string Task { get; }
    public IReadOnlyList<string> Prompts { get; }
    public int Seeds { get; }
    /// <summary>The feature encoder of the task; null when none was given or shipped (feature measures are then left out).</summary>
    public FeatureEncoder? Encoder { get; }

    /// <param name="encoderDir">A feature encoder directory (from train-encoder), or null for none.</param>
    public PromptGridEvaluation(string task, IReadOnlyList<string> prompts, int seeds, string? encoderDir, string encoderOption = "encoder")
    {
        if (!ProceduralTasks.IsProcedural(task)) throw new InputException($"task: '{task}' has no prompt-grid evaluation (expected {string.Join(", ", ProceduralTasks.Names)})");
        Task = task;
        Prompts = prompts;
        Seeds = seeds;
        if (encoderDir is not null) Encoder = EncoderTraining.LoadFor(encoderDir, task, encoderOption);
    }

    /// <summary>The task's fixed evaluation prompts, the first <paramref name="limit"/> of them when limit &gt; 0.</summary>
    public static IReadOnlyList<string> EvaluationPrompts(string task, int limit = 0)
    {
        var all = ProceduralTasks.Resolve(task).EvaluationPrompts;
        return limit > 0 ? all.Take(limit).ToList() : all;
    }

    /// <summary>The model's samples on the grid, [seeds × prompts, …] row-major, on the CPU.</summary>
    public Tensor Sample(LoadedModel model, SampleOptions options)
        => ModelSampling.SamplePromptGrid(model, Prompts, Seeds, options, ProceduralTasks.Resolve(Task).SharesNoiseAcrossPrompts);

    /// <summary>The task's measures of a grid, with the encoder's under <c>features</c>, as a snake_case JSON object.</summary>
    public JsonObject Measure(Tensor grid, int seed)
    {
        var node = TaskMeasures(grid.data<float>().ToArray());
        if (Encoder is not null) node["features"] = JsonNode.Parse(Json.SerializeMetrics(EncoderMetrics.Evaluate(Encoder, grid, Prompts, Seeds, seed)));
        return node;
    }

    /// <summary>The task's measures (no encoder) of real samples laid out as the grid (<see cref="EncoderMetrics.RealGrid"/>): the data's own level of each measure.</summary>
    public JsonObject MeasureRealData(int seed)
    {
        using var real = EncoderMetrics.RealGrid(Task, Prompts, Seeds, seed);
        return TaskMeasures(real.data<float>().ToArray());
    }

    private JsonObject TaskMeasures(float[] pixels) => JsonNode.Parse(Task switch
    {
        "glyphs" => Json.SerializeMetrics(GlyphMetrics.FromSamples(pixels, Prompts, Seeds)),
        "motion-free" => Json.SerializeMetrics(FreeMotionMetrics.FromSamples(pixels, Prompts, Seeds)),
        _ => Json.SerializeMetrics(MotionMetrics.FromSamples(pixels, Prompts, Seeds)),
    })!.AsObject();

    /// <summary>Fig. 5: two grids from the same noises compared sample by sample (glyph layout, or motion start and direction).</summary>
    public (double SameLayout, double MeanCentreShift) LayoutAgreement(float[] a, float[] b)
        => Task == "glyphs" ? GlyphMetrics.LayoutAgreement(a, b) : MotionMetrics.LayoutAgreement(a, b);

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
