using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// A transformer block with adaLN-Zero conditioning (Peebles &amp; Xie, 2023). With local mixing
/// (kernel k &gt; 0) the MLP's hidden features also pass a depthwise k×k convolution over the token
/// grid of each frame group before the GELU — a convolutional feed-forward as in PVTv2, which
/// gives the transformer the locality prior that small data and short training need.
/// </summary>
public sealed class DitBlock : nn.Module
{
    private readonly int _heads;
    private readonly (long Frames, long Rows, long Columns) _grid;
    private readonly LoraLinear modulation, qkv, proj, fc1, fc2;
    private readonly Conv2d? local_mix;

    public DitBlock(int width, int heads, int mlpRatio, int localMixing = 0, (long Frames, long Rows, long Columns) grid = default) : base(nameof(DitBlock))
    {
        _heads = heads;
        _grid = grid;
        modulation = new LoraLinear(width, 6 * width);
        qkv = new LoraLinear(width, 3 * width);
        proj = new LoraLinear(width, width);
        fc1 = new LoraLinear(width, mlpRatio * width);
        fc2 = new LoraLinear(mlpRatio * width, width);
        if (localMixing > 0)
            local_mix = nn.Conv2d(mlpRatio * width, mlpRatio * width, localMixing, padding: localMixing / 2, groups: mlpRatio * width);
        using (torch.no_grad()) { modulation.weight.zero_(); modulation.bias!.zero_(); }
        RegisterComponents();
    }

    public Tensor Forward(Tensor h, Tensor c)
    {
        var m = modulation.forward(c).unsqueeze(1).chunk(6, dim: -1);   // shift, scale, gate for attention and MLP
        long b = h.shape[0], n = h.shape[1], w = h.shape[2], d = w / _heads;
        var a = DitVelocityModel.Modulate(nn.functional.layer_norm(h, [w], eps: 1e-6), m[0], m[1]);
        var q = qkv.forward(a).reshape(b, n, 3, _heads, d).permute(2, 0, 3, 1, 4);
        var attended = nn.functional.scaled_dot_product_attention(q[0], q[1], q[2]);
        h = h + m[2] * proj.forward(attended.transpose(1, 2).reshape(b, n, w));
        var f = DitVelocityModel.Modulate(nn.functional.layer_norm(h, [w], eps: 1e-6), m[3], m[4]);
        var hidden = fc1.forward(f);
        if (local_mix is not null) hidden = hidden + LocalMix(hidden);
        return h + m[5] * fc2.forward(nn.functional.gelu(hidden));
    }

    /// <summary>
    /// Depthwise convolution over each frame group's token grid: [B, n, C] → [B, n, C]. Tokens before
    /// the grid (the prompt's words with in-context conditioning) are not on the grid and get zero.
    /// </summary>
    internal Tensor LocalMix(Tensor x)
    {
        long b = x.shape[0], ch = x.shape[2];
        var (f, r, c) = _grid;
        var extra = x.shape[1] - f * r * c;
        var grid = extra == 0 ? x : x[.., (int)extra..];
        var image = grid.reshape(b * f, r, c, ch).permute(0, 3, 1, 2);
        var mixed = local_mix!.forward(image).permute(0, 2, 3, 1).reshape(b, f * r * c, ch);
        return extra == 0 ? mixed : torch.cat([torch.zeros(b, extra, ch, dtype: x.dtype, device: x.device), mixed], dim: 1);
    }
}
