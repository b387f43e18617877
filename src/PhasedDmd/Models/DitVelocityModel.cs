using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// A small text-conditioned diffusion transformer for images [C, H, W] or videos [F, C, H, W].
/// Patches (tubelets of <see cref="TubeletFrames"/> frames for video) are embedded linearly;
/// the prompt's token ids are embedded with per-position embeddings and projected to one
/// vector, which is added to the timestep embedding and conditions every block through
/// adaLN-Zero. An all-padding prompt is the null prompt ∅ of classifier-free guidance.
/// Two options (off by default, so older model files rebuild unchanged):
/// <list type="bullet">
/// <item><see cref="PromptTokens"/>: the prompt's word embeddings also join the attention sequence
/// (in-context conditioning), so every patch can attend to the word that names its content.</item>
/// <item><see cref="DataStd"/> &gt; 0: EDM-style preconditioning for the flow schedule
/// x_t = (1−t) x_0 + t ε (method.md §1): v̂ = a(t) x_t + c_out(t) F(c_in(t) x_t), where a(t) x_t is the
/// best linear predictor of the velocity ε − x_0 from x_t for data of standard deviation σ_d and
/// c_out(t) the standard deviation of what remains, so the network F always regresses a unit-variance
/// target; at t = 1 it predicts the clean image instead of copying the noise.</item>
/// </list>
/// </summary>
public sealed record DitSpec(long[] DataShape, int Patch = 4, int TubeletFrames = 2, int Width = 128, int Depth = 4, int Heads = 4,
                             int VocabularySize = 32, int PromptLength = 4, int MlpRatio = 4, int LocalMixing = 0,
                             [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool PromptTokens = false,
                             [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] double DataStd = 0) : ModelSpec
{
    public override long[] SampleShape => DataShape;

    public bool IsVideo => DataShape.Length == 4;
    public long Channels => DataShape[^3];
    public long Height => DataShape[^2];
    public long WidthPixels => DataShape[^1];
    public long FrameCount => IsVideo ? DataShape[0] : 1;
    public int FramesPerToken => IsVideo ? TubeletFrames : 1;
    public long Tokens => FrameCount / FramesPerToken * (Height / Patch) * (WidthPixels / Patch);
    public long PatchDim => FramesPerToken * Channels * Patch * Patch;
    public long FrameGroups => FrameCount / FramesPerToken;
    public long GridHeight => Height / Patch;
    public long GridWidth => WidthPixels / Patch;

    public override VelocityModel Build()
    {
        static void Require(bool ok, string message) { if (!ok) throw new InputException($"dit spec: {message}"); }
        Require(DataShape.Length is 3 or 4 && DataShape.All(d => d >= 1), $"dataShape must be [C, H, W] or [F, C, H, W] (got [{string.Join(", ", DataShape)}])");
        Require(Patch >= 1 && Height % Patch == 0 && WidthPixels % Patch == 0, $"patch {Patch} must divide the image size {Height}×{WidthPixels}");
        Require(!IsVideo || (TubeletFrames >= 1 && FrameCount % TubeletFrames == 0), $"tubeletFrames {TubeletFrames} must divide the frame count {FrameCount}");
        Require(Width >= 8 && Heads >= 1 && Width % Heads == 0, $"width {Width} must be ≥ 8 and divisible by heads {Heads}");
        Require(Depth >= 1 && MlpRatio >= 1, $"depth {Depth} and mlpRatio {MlpRatio} must be ≥ 1");
        Require(VocabularySize >= 2 && PromptLength >= 1, $"vocabularySize {VocabularySize} ≥ 2 and promptLength {PromptLength} ≥ 1 required");
        Require(LocalMixing == 0 || (LocalMixing >= 1 && LocalMixing % 2 == 1), $"localMixing {LocalMixing} must be 0 (off) or an odd kernel size");
        Require(DataStd >= 0 && double.IsFinite(DataStd), $"dataStd {DataStd} must be 0 (no preconditioning) or positive");
        return new DitVelocityModel(this);
    }
}

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
        var h = patch_embed.forward(Patchify(cIn is null ? x : cIn * x)) + fixed_pos + pos_embed;
        // The tiny text encoder: token + position embeddings (the words that join attention with
        // PromptTokens), flattened and projected to one vector that keeps word order.
        var words = token_embed.forward(condition) + prompt_pos_embed;
        var c = time_out.forward(nn.functional.silu(time_in.forward(TimeEmbedding.Sinusoidal(t, TimeFrequencies))))
              + text_out.forward(nn.functional.silu(text_proj.forward(words.flatten(1))));
        var cs = nn.functional.silu(c);
        if (prompt_token_proj is not null) h = torch.cat([prompt_token_proj.forward(words), h], dim: 1);
        foreach (var block in blocks) h = block.Forward(h, cs);
        if (prompt_token_proj is not null) h = h[.., _spec.PromptLength..];
        var mod = final_modulation.forward(cs).unsqueeze(1).chunk(2, dim: -1);
        h = Modulate(nn.functional.layer_norm(h, [_spec.Width], eps: 1e-6), mod[0], mod[1]);
        var output = Unpatchify(final_out.forward(h));
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
        var tt = t.to(dtype).reshape([-1, .. Enumerable.Repeat(1L, (int)rank - 1)]);
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
