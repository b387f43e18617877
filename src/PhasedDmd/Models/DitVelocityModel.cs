using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

public sealed class DitVelocityModel : VelocityModel
{
    private const int TimeFrequencies = 128;
    private readonly DitSpec _spec;
    private readonly LoraLinear patch_embed, time_in, time_out, text_proj, text_out, final_modulation, final_out;
    private readonly LoraLinear? prompt_token_proj;
    private readonly Parameter pos_embed, prompt_pos_embed;
    private readonly Tensor fixed_pos;   // a buffer: moves with the module and is saved with it, never trained
    private readonly Embedding token_embed;
    private readonly ModuleList<DitBlock> blocks;

    public DitVelocityModel(DitSpec spec) : base(nameof(DitVelocityModel))
    {
        _spec = spec;
        var w = spec.Width;
        patch_embed = new LoraLinear((int)spec.PatchDim, w);
        fixed_pos = SinCosPositions(spec);
        pos_embed = new Parameter(torch.zeros(1, spec.Tokens, w));   // learned correction on top of the fixed sin-cos positions
        time_in = new LoraLinear(TimeFrequencies, w);
        time_out = new LoraLinear(w, w);
        token_embed = nn.Embedding(spec.VocabularySize, w);
        prompt_pos_embed = new Parameter(torch.randn(1, spec.PromptLength, w) * 0.02);
        text_proj = new LoraLinear(spec.PromptLength * w, w);
        text_out = new LoraLinear(w, w);
        if (spec.PromptTokens) prompt_token_proj = new LoraLinear(w, w);
        blocks = new ModuleList<DitBlock>();
        for (var i = 0; i < spec.Depth; i++) blocks.Add(new DitBlock(w, spec.Heads, spec.MlpRatio, spec.LocalMixing, (spec.FrameGroups, spec.GridHeight, spec.GridWidth)));
        final_modulation = new LoraLinear(w, 2 * w);
        final_out = new LoraLinear(w, (int)spec.PatchDim);
        using (torch.no_grad())
        {
            // adaLN-Zero: the network starts as the zero velocity and each block as the identity.
            foreach (var l in new[] { final_modulation, final_out }) { l.weight.zero_(); l.bias!.zero_(); }
        }
        RegisterComponents();
    }

    public override ModelSpec Spec => _spec;
    public override bool IsConditional => true;
    public override Tensor NullCondition(Tensor condition) => torch.zeros_like(condition);

    public override Tensor Forward(Tensor x, Tensor t, Tensor? condition)
    {
        using var scope = torch.NewDisposeScope();
        var batch = x.shape[0];
        condition ??= torch.zeros([batch, _spec.PromptLength], dtype: ScalarType.Int64, device: x.device);
        var (skip, cOut, cIn) = Preconditioning(t, x.dim(), x.dtype);
        var h = patch_embed.forward(In(Patchify(cIn is null ? x : cIn * x))) + fixed_pos + pos_embed;
        // The tiny text encoder: token + position embeddings (the words that join attention with
        // PromptTokens), flattened and projected to one vector that keeps word order.
        var words = token_embed.forward(condition) + prompt_pos_embed;
        var c = time_out.forward(nn.functional.silu(time_in.forward(In(TimeEmbedding.Sinusoidal(t, TimeFrequencies)))))
              + text_out.forward(nn.functional.silu(text_proj.forward(words.flatten(1))));
        var cs = nn.functional.silu(c);
        if (prompt_token_proj is not null) h = torch.cat([prompt_token_proj.forward(words), h], dim: 1);
        foreach (var block in blocks) h = block.Forward(h, cs);
        if (prompt_token_proj is not null) h = h[.., _spec.PromptLength..];
        var mod = final_modulation.forward(cs).unsqueeze(1).chunk(2, dim: -1);
        h = Modulate(nn.functional.layer_norm(h, [_spec.Width], eps: 1e-6), mod[0], mod[1]);
        var output = Out(Unpatchify(final_out.forward(h)), x);
        return (skip is null ? output : skip * x + cOut! * output).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The preconditioning coefficients for the flow schedule with data standard deviation σ_d
    /// (null when <see cref="DitSpec.DataStd"/> is 0). With V = (1−t)² σ_d² + t² = Var x_t:
    /// a = (t − (1−t) σ_d²) / V = Cov(v, x_t) / Var x_t, c_out = σ_d / √V = the standard deviation of
    /// v − a x_t, c_in = 1 / √V. Shaped [B, 1, ...] to broadcast against x of rank <paramref name="rank"/>;
    /// the caller owns (and disposes) the tensors.
    /// </summary>
    internal (Tensor? Skip, Tensor? Out, Tensor? In) Preconditioning(Tensor t, long rank, ScalarType dtype = ScalarType.Float32)
    {
        if (_spec.DataStd <= 0) return (null, null, null);
        var s2 = _spec.DataStd * _spec.DataStd;
        var tt = Diffusion.ProbabilityFlow.PerSample(t.to(dtype), rank);
        var variance = (1 - tt).square() * s2 + tt.square();
        return ((tt - (1 - tt) * s2) / variance, _spec.DataStd / variance.sqrt(), variance.rsqrt());
    }

    /// <summary>
    /// Fixed sin-cos position embeddings of the tokens (as in ViT/DiT): the width is split between
    /// the coordinates (frame group for video, row, column), each encoded with sines and cosines
    /// of geometrically spaced frequencies. Unit-scale from the start, so attention knows where
    /// every patch is before any training.
    /// </summary>
    public static Tensor SinCosPositions(DitSpec s)
    {
        long gf = s.FrameCount / s.FramesPerToken, gh = s.Height / s.Patch, gw = s.WidthPixels / s.Patch;
        var axes = s.IsVideo ? 3 : 2;
        var per = s.Width / axes / 2 * 2;
        var table = new float[gf * gh * gw * s.Width];
        for (long f = 0, n = 0; f < gf; f++)
            for (long r = 0; r < gh; r++)
                for (long c = 0; c < gw; c++, n++)
                {
                    long[] coords = s.IsVideo ? [f, r, c] : [r, c];
                    for (var a = 0; a < axes; a++)
                        for (var i = 0; i < per / 2; i++)
                        {
                            var angle = coords[a] / Math.Pow(100.0, 2.0 * i / per);
                            table[n * s.Width + a * per + 2 * i] = (float)Math.Sin(angle);
                            table[n * s.Width + a * per + 2 * i + 1] = (float)Math.Cos(angle);
                        }
                }
        return torch.tensor(table, [1, gf * gh * gw, s.Width]);
    }

    internal static Tensor Modulate(Tensor h, Tensor shift, Tensor scale) => h * (scale + 1) + shift;

    /// <summary>[B, (F,) C, H, W] → [B, tokens, patchDim]; tokens ordered (frame group, row, column).</summary>
    public Tensor Patchify(Tensor x)
    {
        var s = _spec;
        long b = x.shape[0], p = s.Patch, gh = s.Height / p, gw = s.WidthPixels / p, tf = s.FramesPerToken, gf = s.FrameCount / tf;
        var v = x.reshape(b, gf, tf, s.Channels, gh, p, gw, p);
        return v.permute(0, 1, 4, 6, 2, 3, 5, 7).reshape(b, gf * gh * gw, s.PatchDim);
    }

    /// <summary>The inverse of <see cref="Patchify"/>.</summary>
    public Tensor Unpatchify(Tensor tokens)
    {
        var s = _spec;
        long b = tokens.shape[0], p = s.Patch, gh = s.Height / p, gw = s.WidthPixels / p, tf = s.FramesPerToken, gf = s.FrameCount / tf;
        var v = tokens.reshape(b, gf, gh, gw, tf, s.Channels, p, p).permute(0, 1, 4, 5, 2, 6, 3, 7);
        return v.reshape([b, .. s.DataShape]);
    }
}
