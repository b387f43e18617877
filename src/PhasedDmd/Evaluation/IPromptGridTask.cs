using System.Text.Json.Nodes;
using PhasedDmd.Data;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// A text-conditioned task as its evaluation sees it (<see cref="PromptGridEvaluation"/>): a model is sampled on the
/// task's evaluation prompts × seeds and scored by the task's own reader (<see cref="Measure"/>), against real samples of
/// the same prompts (<see cref="RealGrid"/>), and by a feature encoder when the task has one (<see cref="IEncoderTask.Encoder"/>).
/// </summary>
public interface IPromptGridTask : IEncoderTask
{
    /// <summary>The data: prompts, vocabulary, sample shape and the generator of training examples.</summary>
    IProceduralTask Data { get; }

    /// <summary>The task's measures of a grid of samples (row-major [seeds × prompts, …] pixels), as a snake_case JSON object.</summary>
    JsonObject Measure(float[] pixels, IReadOnlyList<string> prompts, int seeds);

    /// <summary>Real samples laid out as a model's grid, [seeds × prompts, …]: the data's own level of every measure.</summary>
    Tensor RealGrid(IReadOnlyList<string> prompts, int seeds, int seed);

    /// <summary>Fig. 5: two grids from the same noises compared sample by sample (same layout fraction, mean centre shift in pixels).</summary>
    (double SameLayout, double MeanCentreShift) LayoutAgreement(float[] a, float[] b);

    /// <summary>The rows <c>eval</c> prints (label, measure key); <c>{threshold}</c> in a label is replaced by the measured dynamic threshold.</summary>
    IReadOnlyList<(string Label, string Key)> EvalRows { get; }

    /// <summary>The measures (dotted keys) of the <c>compare</c> table, wall time last.</summary>
    IReadOnlyList<string> CompareKeys { get; }

    /// <summary>Prompt following in reports: the two accuracies shown as "a / b" and what they read.</summary>
    (string First, string Second, string Description) PromptFollowing { get; }

    /// <summary>The accuracy the fidelity claim of Fig. 5 reads, and its name in the claim.</summary>
    (string Key, string Name) Fidelity { get; }

}

/// <summary>What every prompt-grid task derives from its data.</summary>
public static class PromptGridTasks
{
    /// <summary>Whether a sample is a clip ([F, C, H, W]) rather than an image.</summary>
    public static bool IsVideo(this IPromptGridTask task) => task.Data.SampleShape.Length == 4;

    /// <summary>The task's fixed evaluation prompts, the first <paramref name="limit"/> of them when limit &gt; 0.</summary>
    public static IReadOnlyList<string> EvaluationPrompts(this IPromptGridTask task, int limit = 0)
        => limit > 0 ? task.Data.EvaluationPrompts.Take(limit).ToList() : task.Data.EvaluationPrompts;
}
