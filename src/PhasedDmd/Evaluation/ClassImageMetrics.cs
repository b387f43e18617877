using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// The measures of a class grid of images (row-major [perClass × classes, …]: row r, column c is the r-th sample of class c)
/// against a reference grid of real images of the same layout, read in the feature space of the task's classifier
/// (<see cref="FeatureEncoder"/>, whose one categorical head is the class):
/// <list type="bullet">
/// <item>Fréchet distance of the embeddings (both grids class-balanced; biased upwards at this size, so compare it with the data's own level);</item>
/// <item>class accuracy: how often the classifier reads the class the sample was asked for (the paper's capability retention);</item>
/// <item>precision and recall of k-NN manifolds (Kynkäänniemi et al. 2019): the fraction of samples inside the union of the
/// real embeddings' k-NN balls, and the fraction of real embeddings inside the samples' balls;</item>
/// <item>intra-class cosine: the mean pairwise cosine of the embeddings within a class (the paper's DINOv3 column; lower is more diverse);</item>
/// <item>intra-class perceptual distance: the mean LPIPS-style distance between samples of a class (the LPIPS column; higher is more
/// diverse), over the first <see cref="PerceptualSeeds"/> samples of each class.</item>
/// </list>
/// </summary>
public sealed record ClassImageMetrics(int SamplesPerClass, double FrechetDistance, double ClassAccuracy, double Precision, double Recall,
                                       double IntraClassCosine, double IntraClassPerceptual)
{
    /// <summary>The neighbour whose distance is a ball's radius (Kynkäänniemi et al. use 3).</summary>
    public const int Neighbours = 3;

    /// <summary>Samples per class whose pairs enter the perceptual distance (16 make 120 pairs a class).</summary>
    public const int PerceptualSeeds = 16;

    public static ClassImageMetrics Evaluate(FeatureEncoder encoder, Tensor samples, Tensor reference, int classes)
    {
        if (encoder.Spec.Categories.Length < 1 || encoder.Spec.Categories[0] != classes)
            throw new ArgumentException($"the encoder's first head must be the {classes} classes (it has [{string.Join(", ", encoder.Spec.Categories)}])");
        if (samples.shape[0] % classes != 0 || samples.shape[0] != reference.shape[0])
            throw new ArgumentException($"expected two class grids of the same size, a multiple of {classes} (got {samples.shape[0]} and {reference.shape[0]})");
        var perClass = (int)(samples.shape[0] / classes);
        if (perClass <= Neighbours) throw new ArgumentException($"precision and recall need more than {Neighbours} samples per class (got {perClass})");
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = samples.to(ScalarType.Float32).cpu();
        var e = encoder.Embed(x);
        var er = encoder.Embed(reference.to(ScalarType.Float32).cpu());
        var asked = torch.arange(classes, dtype: ScalarType.Int64).repeat(perClass);
        var read = encoder.Heads(e)[.., ..classes].argmax(1);
        var (precision, recall) = PrecisionRecall(er, e, Neighbours);
        var seeds = Math.Min(perClass, PerceptualSeeds);
        return new ClassImageMetrics(
            perClass, DiversityMetrics.FrechetDistance(e, er), read.eq(asked).to(ScalarType.Float64).mean().item<double>(), precision, recall,
            DiversityMetrics.MeanPairwiseCosine(e, classes, perClass), DiversityMetrics.MeanPairwisePerceptual(encoder, x[..(seeds * classes)], classes, seeds));
    }

    /// <summary>
    /// Improved precision and recall (Kynkäänniemi et al. 2019) of <paramref name="generated"/> against <paramref name="real"/>
    /// features [N, D]: a set's manifold is the union of balls around its points, each with radius the distance to the point's
    /// k-th nearest neighbour in its own set. Precision: the fraction of generated points inside the real manifold; recall:
    /// the fraction of real points inside the generated manifold.
    /// </summary>
    public static (double Precision, double Recall) PrecisionRecall(Tensor real, Tensor generated, int k)
    {
        if (real.shape[0] <= k || generated.shape[0] <= k) throw new ArgumentException($"k-NN manifolds need more than k = {k} points in each set");
        using var scope = torch.NewDisposeScope();
        var r = real.to(ScalarType.Float64);
        var g = generated.to(ScalarType.Float64);
        var radiusReal = Radii(r, k);
        var radiusGenerated = Radii(g, k);
        var cross = torch.cdist(r, g);   // [R, G]
        var precision = cross.le(radiusReal.unsqueeze(1)).any(0).to(ScalarType.Float64).mean().item<double>();
        var recall = cross.le(radiusGenerated.unsqueeze(0)).any(1).to(ScalarType.Float64).mean().item<double>();
        return (precision, recall);
    }

    /// <summary>Each point's distance to its k-th nearest other point of the same set (the (k+1)-th smallest, the first being itself).</summary>
    private static Tensor Radii(Tensor x, int k) => torch.cdist(x, x).kthvalue(k + 1, dim: 1).values;
}
