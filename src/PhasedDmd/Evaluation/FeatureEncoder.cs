using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// The project's stand-in for DINO / LPIPS features: a small convolutional network trained
/// <b>supervised</b> on the procedural data's true attributes. It learns character, colours,
/// position (and scale, when the task has more than one) for glyphs, and shape, direction, speed and position for motion. Its embedding
/// therefore encodes both content and composition. Three stages at full, half and quarter resolution (16, 8 and 4 pixels for both tasks); the embedding
/// is a linear map of the flattened last stage, so it keeps where things are.
/// </summary>
public sealed class FeatureEncoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1, conv2, conv3;
    private readonly Linear embed, heads;

    public EncoderSpec Spec { get; }

    public FeatureEncoder(EncoderSpec spec) : base(nameof(FeatureEncoder))
    {
        Spec = spec;
        conv1 = nn.Conv2d(spec.InChannels, spec.Width, 3, padding: 1);
        conv2 = nn.Conv2d(spec.Width, 2 * spec.Width, 3, stride: 2, padding: 1);
        conv3 = nn.Conv2d(2 * spec.Width, 2 * spec.Width, 3, stride: 2, padding: 1);
        embed = nn.Linear(2 * spec.Width * spec.LastStageSize * spec.LastStageSize, spec.Embedding);
        heads = nn.Linear(spec.Embedding, spec.Categories.Sum() + spec.Regressions);
        RegisterComponents();
    }

    /// <summary>Samples in the task's layout ([N, 3, H, W] or [N, 8, 1, H, W]) as [N, C, H, W].</summary>
    private Tensor AsImage(Tensor x) => x.reshape(x.shape[0], Spec.InChannels, x.shape[^2], x.shape[^1]);

    /// <summary>The activations of the three stages (for the perceptual distance).</summary>
    public Tensor[] Stages(Tensor x)
    {
        var a1 = nn.functional.gelu(conv1.forward(AsImage(x)));
        var a2 = nn.functional.gelu(conv2.forward(a1));
        var a3 = nn.functional.gelu(conv3.forward(a2));
        return [a1, a2, a3];
    }

    /// <summary>The embedding ([N, Embedding]).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var a3 = Stages(x)[2];
        return embed.forward(a3.flatten(1)).MoveToOuterDisposeScope();
    }

    /// <summary>The embeddings of many images ([N, Embedding]), computed a thousand at a time.</summary>
    public Tensor Embed(Tensor x) => torch.cat(x.split(1000).Select(forward).ToArray());

    /// <summary>Logits of every categorical head (concatenated) and the regressions, from an embedding.</summary>
    public Tensor Heads(Tensor embedding) => heads.forward(nn.functional.gelu(embedding));
}
