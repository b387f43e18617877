using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// The sliced Wasserstein-2 distance between two equal-size sample sets of any shape: the root mean square, over random
/// unit directions θ, of the 1-D Wasserstein-2 distance between the projections ⟨x, θ⟩ and ⟨y, θ⟩ (each an exact sort).
/// It needs no bandwidth or feature network, is in the data's own units, is zero only when every projection matches, and
/// costs O(P·N log N) — so it works for points and for images alike. Two finite samples of one distribution give a small
/// positive floor that shrinks as 1/√N.
/// </summary>
public static class SlicedWasserstein
{
    /// <summary>Directions used by default (the estimate's own noise is well below the sampling floor at N = 256).</summary>
    public const int DefaultProjections = 256;

    /// <summary>The distance between <paramref name="x"/> and <paramref name="y"/> ([N, …] each, flattened per sample), on directions drawn from <paramref name="seed"/>.</summary>
    public static double Distance(Tensor x, Tensor y, long seed = 0, int projections = DefaultProjections)
    {
        if (x.shape[0] != y.shape[0] || x.shape[0] < 1)
            throw new ArgumentException($"sliced Wasserstein needs two non-empty sample sets of the same size (got {x.shape[0]} and {y.shape[0]})");
        using var scope = torch.NewDisposeScope();
        var a = x.detach().cpu().to(ScalarType.Float64).reshape(x.shape[0], -1);
        var b = y.detach().cpu().to(ScalarType.Float64).reshape(y.shape[0], -1);
        if (a.shape[1] != b.shape[1]) throw new ArgumentException($"sample sets of different sizes ({a.shape[1]} and {b.shape[1]} numbers per sample)");
        return Math.Sqrt(Squared(a, b, Directions(a.shape[1], seed, projections)).item<double>());
    }

    /// <summary>P unit directions in D dimensions, [D, P], the same for the same seed.</summary>
    public static Tensor Directions(long dimension, long seed, int projections = DefaultProjections)
    {
        using var g = new Generator((ulong)seed);
        var theta = torch.randn([dimension, projections], dtype: ScalarType.Float64, generator: g);
        return theta / theta.norm(0, keepdim: true);
    }

    /// <summary>The squared distance for given directions [D, P]; a, b are [N, D] in float64.</summary>
    private static Tensor Squared(Tensor a, Tensor b, Tensor directions)
    {
        var pa = a.matmul(directions).sort(0).Values;
        var pb = b.matmul(directions).sort(0).Values;
        return (pa - pb).square().mean();
    }
}
