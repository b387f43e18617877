using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// A linear layer y = x Wᵀ + b that the network's author marks as adaptable: by default
/// <see cref="LoraAdapters"/> gives these layers a low-rank adapter,
/// y = x Wᵀ + b + (α / r) · (x Aᵀ) Bᵀ, computed here without a hook.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    public Parameter weight;
    public Parameter? bias;
    public Parameter? lora_A;
    public Parameter? lora_B;
    private double _scale;

    public int InFeatures { get; }
    public int OutFeatures { get; }

    public LoraLinear(int inFeatures, int outFeatures, bool hasBias = true) : base(nameof(LoraLinear))
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        // Same initialisation as torch.nn.Linear: U(−1/√in, 1/√in).
        var bound = 1.0 / Math.Sqrt(inFeatures);
        weight = new Parameter(torch.empty(outFeatures, inFeatures).uniform_(-bound, bound));
        bias = hasBias ? new Parameter(torch.empty(outFeatures).uniform_(-bound, bound)) : null;
        RegisterComponents();
    }

    /// <summary>Runs with the adapter <see cref="LoraAdapters"/> attached (its parameters are registered by it as lora_A, lora_B).</summary>
    internal void UseAdapter(Parameter a, Parameter b, double scale)
    {
        lora_A = a;
        lora_B = b;
        _scale = scale;
    }

    public override Tensor forward(Tensor x)
    {
        var y = nn.functional.linear(x, weight, bias);
        if (lora_A is not null && lora_B is not null)
            y = y + nn.functional.linear(nn.functional.linear(x, lora_A), lora_B) * _scale;
        return y;
    }
}
