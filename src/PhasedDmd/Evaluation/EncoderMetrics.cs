using PhasedDmd.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// The feature-space measures of one prompt grid, beside the same measures on real samples of the
/// same prompts (the "data" reference):
/// <list type="bullet">
/// <item>feature cosine: mean pairwise cosine among the seeds of a prompt; lower is more diverse (DINOv3 analogue);</item>
/// <item>perceptual: the LPIPS-style distance between seeds; higher is more diverse;</item>
/// <item>composition: the spread and distribution of the free attributes;</item>
/// <item>Fréchet distance of the embeddings to the real samples (fidelity). With a grid of
/// 128–168 samples in 128 dimensions the estimate is strongly biased upwards, so it comes with its
/// floor: the same distance between two independent real grids of the same prompts and size.
/// Only the excess over the floor is meaningful.</item>
/// </list>
/// </summary>
public sealed record EncoderMetrics(
    double FeatureCosine, double RealFeatureCosine, double Perceptual, double RealPerceptual,
    CompositionMetrics Composition, double FrechetToReal, double FrechetRealFloor)
{
    public static EncoderMetrics Evaluate(FeatureEncoder encoder, Tensor samples, IReadOnlyList<string> prompts, int seeds, int seed = 0)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var task = TaskRegistry.Find<IPromptGridTask>(encoder.Spec.Task, "prompt-grid evaluation");
        var real = task.RealGrid(prompts, seeds, seed);
        var x = samples.to(ScalarType.Float32).cpu();
        var e = encoder.forward(x);
        var er = encoder.forward(real);
        var er2 = encoder.forward(task.RealGrid(prompts, seeds, seed + 104729));
        return new EncoderMetrics(
            DiversityMetrics.MeanPairwiseCosine(e, prompts.Count, seeds), DiversityMetrics.MeanPairwiseCosine(er, prompts.Count, seeds),
            DiversityMetrics.MeanPairwisePerceptual(encoder, x, prompts.Count, seeds), DiversityMetrics.MeanPairwisePerceptual(encoder, real, prompts.Count, seeds),
            CompositionMetrics.Evaluate(encoder, x, real, prompts.Count, seeds),
            DiversityMetrics.FrechetDistance(e, er), DiversityMetrics.FrechetDistance(er2, er));
    }
}
