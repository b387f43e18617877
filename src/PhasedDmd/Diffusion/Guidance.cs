using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

/// <summary>Classifier-free guidance: v_cfg = v(x, t, ∅) + w (v(x, t, c) − v(x, t, ∅)).</summary>
public static class Guidance
{
    public static Tensor Combine(Tensor unconditional, Tensor conditional, double scale)
        => unconditional + scale * (conditional - unconditional);
}
