using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Data;

/// <summary>A batch of procedural training data: pixels in [−1, 1], prompt token ids, and the true attributes.</summary>
public sealed record ProceduralBatch<TAttributes>(Tensor Pixels, Tensor Prompts, IReadOnlyList<TAttributes> Attributes, IReadOnlyList<string> PromptTexts);

/// <summary>
/// A text-conditioned procedural task (the miniature text-to-image / text-to-video data).
/// Everything is drawn from a libtorch generator, so a seeded run (and a resumed one) sees the
/// same data. Prompts name some attributes and leave others free.
/// </summary>
public interface IProceduralTask
{
    string Name { get; }
    /// <summary>Shape of one sample: [C, H, W] for images, [F, C, H, W] for videos.</summary>
    long[] SampleShape { get; }
    PromptVocabulary Vocabulary { get; }
    /// <summary>The fixed held-out prompts of the evaluation protocol.</summary>
    IReadOnlyList<string> EvaluationPrompts { get; }
    /// <summary>Draws n examples (pixels and prompt ids); used to train teachers.</summary>
    (Tensor Pixels, Tensor Prompts) SampleTraining(int n, Generator generator);
    /// <summary>Draws n prompts from the task's prompt distribution (token ids [n, L]); used by distillation.</summary>
    Tensor SamplePrompts(int n, Generator generator);
}

public static class ProceduralTasks
{
    public static readonly string[] Names = ["glyphs", "motion"];

    private static readonly GlyphsTask Glyphs = new();
    private static readonly MotionTask Motion = new();

    /// <summary>The task by name (tasks are stateless; one shared instance each).</summary>
    public static IProceduralTask Resolve(string name) => name switch
    {
        "glyphs" => Glyphs,
        "motion" => Motion,
        _ => throw new InputException($"unknown procedural task '{name}' (expected glyphs or motion)"),
    };

    public static bool IsProcedural(string name) => Names.Contains(name);

    /// <summary>Encodes prompts to a [n, L] int64 tensor.</summary>
    public static Tensor Encode(this IProceduralTask task, IEnumerable<string> prompts)
    {
        var rows = prompts.Select(task.Vocabulary.Encode).ToArray();
        return torch.tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, task.Vocabulary.Length], dtype: ScalarType.Int64);
    }

    /// <summary>n uniform numbers in [0, 1) per row, drawn from the generator (k per example).</summary>
    internal static float[] Uniforms(int n, int k, Generator generator)
    {
        using var u = torch.rand([n, k], generator: generator);
        return u.data<float>().ToArray();
    }

    internal static int Pick(float u, int count) => Math.Min(count - 1, (int)(u * count));
}
