using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Data;

/// <summary>Helpers the procedural tasks share (the tasks themselves are registered in <see cref="TaskRegistry"/>).</summary>
public static class ProceduralTasks
{
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
