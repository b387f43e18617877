using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Data;

public static class ProceduralTasks
{
    public static readonly string[] Names = ["glyphs", "motion", "motion-free"];

    private static readonly GlyphsTask Glyphs = new();
    private static readonly MotionTask Motion = new();
    private static readonly FreeMotionTask FreeMotion = new();

    /// <summary>The task by name (tasks are stateless; one shared instance each).</summary>
    public static IProceduralTask Resolve(string name) => name switch
    {
        "glyphs" => Glyphs,
        "motion" => Motion,
        "motion-free" => FreeMotion,
        _ => throw new InputException($"unknown procedural task '{name}' (expected glyphs, motion or motion-free)"),
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
