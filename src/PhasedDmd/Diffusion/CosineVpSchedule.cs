using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

/// <summary>Variance-preserving cosine schedule: α_t = cos(πt/2), σ_t = sin(πt/2); α² + σ² = 1.</summary>
public sealed class CosineVpSchedule : NoiseSchedule
{
    public static readonly CosineVpSchedule Instance = new();
    private const double HalfPi = Math.PI / 2;
    public override string Name => "vp-cosine";
    public override double Alpha(double t) => Math.Cos(HalfPi * t);
    public override double Sigma(double t) => Math.Sin(HalfPi * t);
    public override double AlphaDerivative(double t) => -HalfPi * Math.Sin(HalfPi * t);
    public override double SigmaDerivative(double t) => HalfPi * Math.Cos(HalfPi * t);
    public override Tensor Alpha(Tensor t) => (t * HalfPi).cos();
    public override Tensor Sigma(Tensor t) => (t * HalfPi).sin();
    public override Tensor AlphaDerivative(Tensor t) => (t * HalfPi).sin() * -HalfPi;
    public override Tensor SigmaDerivative(Tensor t) => (t * HalfPi).cos() * HalfPi;
}
