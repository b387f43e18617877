using PhasedDmd.Models;

namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>
/// Analytic floating-point operation counts (a multiply-add is 2 FLOPs). Only the matrix
/// products are counted — linear layers and the two attention products; normalisation,
/// activations and element-wise work are left out, so achieved rates are slight underestimates.
/// </summary>
public static class Flops
{
    /// <summary>Forward FLOPs of one linear layer applied to <paramref name="rows"/> vectors.</summary>
    public static double Linear(double rows, double inFeatures, double outFeatures) => 2 * rows * inFeatures * outFeatures;

    /// <summary>Forward FLOPs of the DiT for one sample (one prompt, one timestep).</summary>
    public static double DitForward(DitSpec s, int timeFrequencies = 128)
    {
        double n = s.Tokens, w = s.Width, mlp = s.MlpRatio * s.Width;
        var total = Linear(n, s.PatchDim, w)                                   // patch embedding
                  + Linear(1, timeFrequencies, w) + Linear(1, w, w)            // timestep MLP
                  + Linear(1, s.PromptLength * w, w) + Linear(1, w, w);        // text encoder projection
        var block = Linear(1, w, 6 * w)                                        // adaLN modulation
                  + Linear(n, w, 3 * w)                                        // q, k, v
                  + 2 * (2 * n * n * w)                                        // QKᵀ and attention × V (all heads)
                  + Linear(n, w, w)                                            // output projection
                  + Linear(n, w, mlp) + Linear(n, mlp, w)                      // MLP
                  + 2 * n * mlp * s.LocalMixing * s.LocalMixing;               // depthwise local mixing (0 when off)
        total += s.Depth * block;
        total += Linear(1, w, 2 * w) + Linear(n, w, s.PatchDim);               // final modulation and projection
        return total;
    }

    /// <summary>FLOPs of one training step (forward + backward ≈ 3 × forward) on a batch.</summary>
    public static double DitTrainingStep(DitSpec s, int batch) => 3 * batch * DitForward(s);
}
