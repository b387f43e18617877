using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// The paper's diversity and fidelity measures, computed with the project's own
/// <see cref="FeatureEncoder"/> in place of DINOv3, LPIPS and Inception. Samples are laid out
/// row-major [seeds × prompts, …], as <c>ModelSampling.SamplePromptGrid</c> returns them, so the
/// seeds of prompt p are rows p, p + P, p + 2P, ….
/// </summary>
public static class DiversityMetrics
{
    /// <summary>
    /// Mean pairwise cosine similarity of the embeddings among the seeds of each prompt, averaged
    /// over prompts (paper Table 2, DINOv3 column: lower is more diverse). 8 seeds make 28 pairs.
    /// </summary>
    public static double MeanPairwiseCosine(Tensor embeddings, int prompts, int seeds)
    {
        Check(embeddings.shape[0], prompts, seeds);
        using var scope = torch.NewDisposeScope();
        var total = 0.0;
        for (var p = 0; p < prompts; p++)
        {
            var e = nn.functional.normalize(embeddings[torch.arange(p, prompts * seeds, prompts)].to(ScalarType.Float64), dim: 1);
            var gram = e.matmul(e.T);
            // mean of the strictly upper triangle: (sum of all − trace) / (S(S − 1))
            total += (gram.sum() - gram.trace()).item<double>() / (seeds * (seeds - 1));
        }
        return total / prompts;
    }

    /// <summary>
    /// How alike two grids of the same layout are cell by cell, for grids drawn from the same noises (row r of both from
    /// noise seed + r): the mean cosine of the embeddings of a[i] and b[i] (<c>Paired</c>), and the mean cosine between a's and
    /// b's samples of the same prompt at different seeds (<c>Unpaired</c>: the level that sharing the noise adds nothing to).
    /// Paired well above unpaired means the second model keeps the first one's composition of each sample.
    /// </summary>
    public static (double Paired, double Unpaired) PairedCosine(Tensor a, Tensor b, int prompts, int seeds)
    {
        Check(a.shape[0], prompts, seeds);
        Check(b.shape[0], prompts, seeds);
        using var scope = torch.NewDisposeScope();
        double paired = 0, unpaired = 0;
        for (var p = 0; p < prompts; p++)
        {
            var rows = torch.arange(p, prompts * seeds, prompts);
            var cross = nn.functional.normalize(a[rows].to(ScalarType.Float64), dim: 1).matmul(nn.functional.normalize(b[rows].to(ScalarType.Float64), dim: 1).T);
            var trace = cross.trace().item<double>();
            paired += trace / seeds;
            unpaired += (cross.sum().item<double>() - trace) / (seeds * (seeds - 1));
        }
        return (paired / prompts, unpaired / prompts);
    }

    /// <summary>
    /// <see cref="PerceptualDistance"/> between the cells of two grids of the same layout, averaged (<c>Paired</c>), and between
    /// each cell of a and the next seed's cell of b of the same prompt (<c>Unpaired</c>: row r against row r + 1, cyclically).
    /// </summary>
    public static (double Paired, double Unpaired) PairedPerceptual(FeatureEncoder encoder, Tensor a, Tensor b, int prompts, int seeds)
    {
        Check(a.shape[0], prompts, seeds);
        Check(b.shape[0], prompts, seeds);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var sa = NormalisedStages(encoder, a);
        var sb = NormalisedStages(encoder, b);
        var next = torch.arange(prompts * seeds).add(prompts).remainder(prompts * seeds);   // the same prompt, the next seed
        var paired = Distance(sa, sb).mean().item<double>();
        var unpaired = Distance(sa, sb.Select(f => f[next]).ToArray()).mean().item<double>();
        return (paired, unpaired);
    }

    /// <summary>
    /// LPIPS-style distance between paired samples a[i] and b[i]. For every encoder stage, the
    /// activations are normalised to unit length over channels at each position, and the squared
    /// difference is averaged over positions. The stages are then summed, with equal weights (LPIPS
    /// learns them; we have no human judgements). 0 for identical images; at most 4 per stage
    /// (unit vectors differ by at most 2 in length).
    /// </summary>
    public static Tensor PerceptualDistance(FeatureEncoder encoder, Tensor a, Tensor b)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return Distance(NormalisedStages(encoder, a), NormalisedStages(encoder, b)).MoveToOuterDisposeScope();
    }

    /// <summary>Mean pairwise <see cref="PerceptualDistance"/> among the seeds of each prompt, averaged over prompts (paper Table 2, LPIPS column: higher is more diverse).</summary>
    public static double MeanPairwisePerceptual(FeatureEncoder encoder, Tensor samples, int prompts, int seeds)
    {
        Check(samples.shape[0], prompts, seeds);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pairs = new List<(long, long)>();
        for (var p = 0; p < prompts; p++)
            for (var i = 0; i < seeds; i++)
                for (var j = i + 1; j < seeds; j++)
                    pairs.Add((i * prompts + p, j * prompts + p));
        var left = torch.tensor(pairs.Select(q => q.Item1).ToArray());
        var right = torch.tensor(pairs.Select(q => q.Item2).ToArray());
        var stages = NormalisedStages(encoder, samples);   // each sample encoded once, then paired
        return Distance(stages.Select(f => f[left]).ToArray(), stages.Select(f => f[right]).ToArray()).mean().item<double>();
    }

    /// <summary>The encoder's stage activations, each normalised to unit length over channels at every position.</summary>
    private static Tensor[] NormalisedStages(FeatureEncoder encoder, Tensor x)
        => encoder.Stages(x).Select(f => nn.functional.normalize(f, dim: 1, eps: 1e-10)).ToArray();

    /// <summary>Per pair: squared difference of normalised activations, summed over channels, averaged over positions, summed over stages.</summary>
    private static Tensor Distance(Tensor[] a, Tensor[] b)
    {
        var d = torch.zeros(a[0].shape[0], dtype: ScalarType.Float64, device: a[0].device);
        for (var l = 0; l < a.Length; l++)
            d = d + (a[l] - b[l]).square().sum(dim: 1).mean([1, 2]).to(ScalarType.Float64);
        return d;
    }

    /// <summary>
    /// Fréchet distance between Gaussians fitted to two feature sets [N, D]:
    /// ‖μa − μb‖² + Tr Σa + Tr Σb − 2 Tr (Σa^½ Σb Σa^½)^½. The matrix square roots come from
    /// symmetric eigendecompositions in float64, with negative round-off eigenvalues clipped to 0.
    /// </summary>
    public static double FrechetDistance(Tensor a, Tensor b)
    {
        if (a.dim() != 2 || b.dim() != 2 || a.shape[1] != b.shape[1] || a.shape[0] < 2 || b.shape[0] < 2)
            throw new ArgumentException($"Fréchet distance needs two [N ≥ 2, D] feature sets of the same D (got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}])");
        using var scope = torch.NewDisposeScope();
        var (muA, covA) = Moments(a.to(ScalarType.Float64));
        var (muB, covB) = Moments(b.to(ScalarType.Float64));
        Tensor traceRoot;
        try
        {
            traceRoot = TraceRoot(covA, covB);
        }
        catch (ExternalException) when (a.shape[0] <= a.shape[1] || b.shape[0] <= b.shape[1])
        {
            // Fewer samples than dimensions: the covariances are singular, with many zero eigenvalues, on which LAPACK's
            // eigensolver can fail to converge. A ridge of 1e-10 × the mean variance (as pytorch-fid adds to a singular product)
            // changes the distance by far less than its sampling error.
            var ridge = torch.eye(covA.shape[0], dtype: ScalarType.Float64) * (1e-10 * (covA.trace() + covB.trace()).item<double>() / (2 * covA.shape[0]));
            traceRoot = TraceRoot(covA + ridge, covB + ridge);
        }
        var value = (muA - muB).square().sum() + covA.trace() + covB.trace() - 2 * traceRoot;
        return Math.Max(0, value.item<double>());
    }

    /// <summary>Tr (Σa^½ Σb Σa^½)^½.</summary>
    private static Tensor TraceRoot(Tensor covA, Tensor covB)
    {
        var rootA = SymmetricSqrt(covA);
        var middle = rootA.matmul(covB).matmul(rootA);
        return torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum();
    }

    private static (Tensor Mean, Tensor Cov) Moments(Tensor x)
    {
        var mean = x.mean([0]);
        var centred = x - mean;
        return (mean, centred.T.matmul(centred) / (x.shape[0] - 1));
    }

    private static Tensor SymmetricSqrt(Tensor m)
    {
        var (values, vectors) = torch.linalg.eigh((m + m.T) / 2);
        return vectors.matmul(torch.diag(values.clamp_min(0).sqrt())).matmul(vectors.T);
    }

    private static void Check(long rows, int prompts, int seeds)
    {
        if (prompts < 1 || seeds < 2 || rows != (long)prompts * seeds)
            throw new ArgumentException($"expected {seeds} seeds × {prompts} prompts (≥ 2 seeds) = {prompts * seeds} rows, got {rows}");
    }
}
