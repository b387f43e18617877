using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>Sinusoidal embedding of t ∈ [0, 1] (frequencies geometric from 1 to 1000).</summary>
public static class TimeEmbedding
{
    public static Tensor Sinusoidal(Tensor t, int dim)
    {
        var half = dim / 2;
        var freqs = torch.exp(torch.arange(half, dtype: ScalarType.Float32, device: t.device) * (-Math.Log(1000.0) / Math.Max(half - 1, 1)));
        var args = (t.to(ScalarType.Float32) * 1000.0).unsqueeze(-1) * freqs.unsqueeze(0);
        return torch.cat([args.sin(), args.cos()], dim: -1);
    }
}
