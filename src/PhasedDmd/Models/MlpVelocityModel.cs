using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// The velocity MLP of the toy experiments: [x, emb(t)] → Linear → SiLU → … → Linear,
/// with an optional class embedding (index NumClasses is the null class ∅) added to the
/// first hidden layer. Every linear layer is a <see cref="LoraLinear"/>.
/// </summary>
public sealed class MlpVelocityModel : VelocityModel
{
    private readonly MlpSpec _spec;
    private readonly ModuleList<LoraLinear> layers;
    private readonly Embedding? class_embedding;

    public MlpVelocityModel(MlpSpec spec) : base(nameof(MlpVelocityModel))
    {
        _spec = spec;
        layers = new ModuleList<LoraLinear>();
        layers.Add(new LoraLinear(spec.DataDim + spec.TimeEmbedDim, spec.Hidden));
        for (var i = 1; i < spec.Layers - 1; i++) layers.Add(new LoraLinear(spec.Hidden, spec.Hidden));
        layers.Add(new LoraLinear(spec.Hidden, spec.DataDim));
        if (spec.NumClasses > 0) class_embedding = nn.Embedding(spec.NumClasses + 1, spec.Hidden);
        RegisterComponents();
    }

    public override ModelSpec Spec => _spec;
    public override bool IsConditional => _spec.NumClasses > 0;

    public override Tensor NullCondition(Tensor condition)
        => IsConditional ? torch.full_like(condition, _spec.NumClasses) : base.NullCondition(condition);

    public override Tensor Forward(Tensor x, Tensor t, Tensor? condition)
    {
        using var scope = torch.NewDisposeScope();
        var h = layers[0].forward(torch.cat([In(x), In(TimeEmbedding.Sinusoidal(t, _spec.TimeEmbedDim))], dim: -1));
        if (class_embedding is not null)
            h = h + class_embedding.forward(condition ?? torch.full(x.shape[0], _spec.NumClasses, dtype: ScalarType.Int64, device: x.device));
        h = nn.functional.silu(h);
        for (var i = 1; i < layers.Count - 1; i++) h = nn.functional.silu(layers[i].forward(h));
        return Out(layers[layers.Count - 1].forward(h), x).MoveToOuterDisposeScope();
    }
}
