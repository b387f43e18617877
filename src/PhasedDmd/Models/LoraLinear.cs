using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// A linear layer y = x Wᵀ + b that can carry a low-rank adapter:
/// y = x Wᵀ + b + (α / r) · (x Aᵀ) Bᵀ, with A ~ small random, B = 0 at creation
/// (so the adapted layer starts equal to the base). The base weight can be frozen and
/// shared; the adapter can be merged into plain weights for export.
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
    public int? Rank => lora_A is null ? null : (int)lora_A.shape[0];

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

    /// <summary>Adds a fresh adapter (rank r, scale α / r). B starts at zero.</summary>
    public void AttachAdapter(int rank, double alpha, Generator? generator = null)
    {
        if (rank < 1) throw new InputException($"lora rank must be ≥ 1 (got {rank})");
        var bound = 1.0 / Math.Sqrt(InFeatures);
        var device = weight.device;
        lora_A = new Parameter(torch.empty(rank, InFeatures).uniform_(-bound, bound, generator: generator).to(device));
        lora_B = new Parameter(torch.zeros(OutFeatures, rank, device: device));
        register_parameter("lora_A", lora_A);
        register_parameter("lora_B", lora_B);
        _scale = alpha / rank;
    }

    public double AdapterScale { get => _scale; set => _scale = value; }

    public override Tensor forward(Tensor x)
    {
        var y = nn.functional.linear(x, weight, bias);
        if (lora_A is not null && lora_B is not null)
            y = y + nn.functional.linear(nn.functional.linear(x, lora_A), lora_B) * _scale;
        return y;
    }

    /// <summary>W + (α / r) B A: the plain weight equivalent to the adapted layer.</summary>
    public Tensor MergedWeight()
    {
        using var _ = torch.no_grad();
        if (lora_A is null || lora_B is null) return weight.detach().clone();
        return (weight + lora_B.matmul(lora_A) * _scale).detach();
    }
}
