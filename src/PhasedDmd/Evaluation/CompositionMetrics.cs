using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Ground-truth composition diversity: the free continuous attributes a prompt leaves open (glyphs:
/// where the character is; motion: speed and where the shape is), as read by the encoder's
/// trained attribute heads. The generated samples are compared with real samples of the same
/// prompts read by the same heads, so the heads' own errors affect both sides alike.
/// </summary>
/// <param name="SpreadPerPrompt">Mean over prompts of the across-seed standard deviation of each free continuous attribute (normalised units), averaged over attributes.</param>
/// <param name="RealSpreadPerPrompt">The same statistic for real samples.</param>
/// <param name="SpreadRatio">SpreadPerPrompt / RealSpreadPerPrompt: 1 means the generator varies composition as much as the data; near 0 means it collapsed to one layout per prompt.</param>
/// <param name="Wasserstein">1-Wasserstein distance between the pooled generated and real values of each free continuous attribute (normalised units), averaged over attributes.</param>
public sealed record CompositionMetrics(string[] Attributes, double SpreadPerPrompt, double RealSpreadPerPrompt, double SpreadRatio, double Wasserstein)
{
    /// <summary>
    /// <paramref name="generated"/> and <paramref name="real"/> are [seeds × prompts, …] row-major grids of the same prompts.
    /// </summary>
    public static CompositionMetrics Evaluate(FeatureEncoder encoder, Tensor generated, Tensor real, int prompts, int seeds)
    {
        if (generated.shape[0] != (long)prompts * seeds || real.shape[0] % prompts != 0 || seeds < 2 || real.shape[0] < 2L * prompts)
            throw new ArgumentException($"expected {seeds} seeds × {prompts} prompts of generated samples and a whole number of real rows per prompt");
        var g = Predict(encoder, generated);
        var r = Predict(encoder, real);
        var realSeeds = (int)(real.shape[0] / prompts);
        var names = encoder.Spec.RegressionNames;
        double spread = 0, realSpread = 0, w1 = 0;
        for (var a = 0; a < names.Length; a++)
        {
            spread += AcrossSeedSpread(g, a, prompts, seeds);
            realSpread += AcrossSeedSpread(r, a, prompts, realSeeds);
            w1 += Wasserstein1(g.Select(v => v[a]).ToArray(), r.Select(v => v[a]).ToArray());
        }
        var n = names.Length;
        return new CompositionMetrics(names, spread / n, realSpread / n, realSpread > 0 ? spread / realSpread : double.NaN, w1 / n);
    }

    /// <summary>The encoder's continuous predictions per sample.</summary>
    public static double[][] Predict(FeatureEncoder encoder, Tensor samples)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var offset = encoder.Spec.Categories.Sum();
        var output = encoder.Heads(encoder.forward(samples))[.., offset..].to(ScalarType.Float64).cpu();
        var values = output.data<double>().ToArray();
        var k = encoder.Spec.Regressions;
        return Enumerable.Range(0, (int)samples.shape[0]).Select(i => values.AsSpan(i * k, k).ToArray()).ToArray();
    }

    private static double AcrossSeedSpread(double[][] values, int attribute, int prompts, int seeds)
        => Enumerable.Range(0, prompts).Average(p =>
        {
            var v = Enumerable.Range(0, seeds).Select(s => values[s * prompts + p][attribute]).ToArray();
            var m = v.Average();
            return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
        });

    /// <summary>
    /// 1-Wasserstein distance between two empirical distributions on the line: the integral of
    /// |F_a − F_b|, computed exactly from the merged sorted samples.
    /// </summary>
    public static double Wasserstein1(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count == 0 || b.Count == 0) throw new ArgumentException("Wasserstein distance needs samples on both sides");
        var sa = a.Order().ToArray();
        var sb = b.Order().ToArray();
        var points = sa.Concat(sb).Order().ToArray();
        double total = 0;
        int ia = 0, ib = 0;
        for (var i = 0; i + 1 < points.Length; i++)
        {
            while (ia < sa.Length && sa[ia] <= points[i]) ia++;
            while (ib < sb.Length && sb[ib] <= points[i]) ib++;
            total += Math.Abs(ia / (double)sa.Length - ib / (double)sb.Length) * (points[i + 1] - points[i]);
        }
        return total;
    }
}
