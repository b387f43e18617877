using static TorchSharp.torch;

namespace PhasedDmd.IO;

public static class TensorExport
{
    /// <summary>A [N, ...] tensor as an N × D float matrix (trailing dimensions flattened).</summary>
    public static float[,] ToMatrix(Tensor t)
    {
        using var flat = t.detach().cpu().to(ScalarType.Float32).reshape(t.shape[0], -1).contiguous();
        var (n, d) = ((int)flat.shape[0], (int)flat.shape[1]);
        var data = flat.data<float>().ToArray();
        var m = new float[n, d];
        Buffer.BlockCopy(data, 0, m, 0, data.Length * sizeof(float));
        return m;
    }
}
