using System.Text.Json.Serialization;

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
