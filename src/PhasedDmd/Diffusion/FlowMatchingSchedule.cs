using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

/// <summary>Rectified flow / flow matching: α_t = 1 − t, σ_t = t (Wan, Qwen-Image).</summary>
public sealed class FlowMatchingSchedule : NoiseSchedule
{
    public static readonly FlowMatchingSchedule Instance = new();
    public override string Name => "flow";
    public override double Alpha(double t) => 1.0 - t;
    public override double Sigma(double t) => t;
    public override double AlphaDerivative(double t) => -1.0;
    public override double SigmaDerivative(double t) => 1.0;
    public override Tensor Alpha(Tensor t) => 1.0 - t;
    public override Tensor Sigma(Tensor t) => t.alias();
    public override Tensor AlphaDerivative(Tensor t) => torch.full_like(t, -1.0);
    public override Tensor SigmaDerivative(Tensor t) => torch.ones_like(t);
}
