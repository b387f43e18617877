using PhasedDmd.Evaluation;
using PhasedDmd.Training;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Evaluation;

[Collection(SerialCollection.Name)]
public class DiversityMetricsTests
{
    private static FeatureEncoder RandomEncoder(string task)
    {
        manual_seed(5);
        return new FeatureEncoder(EncoderSpec.ForTask(task));
    }

    private static Tensor RealGlyphs(int n, int seed)
    {
        using var g = Runtime.NewGenerator(seed);
        var batch = new PhasedDmd.Data.GlyphsTask().Sample(n, g);
        batch.Prompts.Dispose();
        return batch.Pixels;
    }

    [Fact]
    public void Identical_seeds_are_maximally_similar_and_distinct_ones_are_not()
    {
        using var encoder = RandomEncoder("glyphs");
        const int prompts = 3, seeds = 4;
        using var one = RealGlyphs(prompts, 1);
        // row-major [seed][prompt]: every seed of prompt p is the same image
        using var same = cat(Enumerable.Repeat(one, seeds).ToArray(), 0);
        using (no_grad())
        using (var e = encoder.forward(same))
            Assert.Equal(1.0, DiversityMetrics.MeanPairwiseCosine(e, prompts, seeds), 6);
        Assert.Equal(0.0, DiversityMetrics.MeanPairwisePerceptual(encoder, same, prompts, seeds), 9);

        using var varied = RealGlyphs(prompts * seeds, 2);
        using (no_grad())
        using (var e = encoder.forward(varied))
            Assert.True(DiversityMetrics.MeanPairwiseCosine(e, prompts, seeds) < 0.999);
        Assert.True(DiversityMetrics.MeanPairwisePerceptual(encoder, varied, prompts, seeds) > 1e-3);
        Assert.Throws<ArgumentException>(() => DiversityMetrics.MeanPairwisePerceptual(encoder, varied, prompts, 5));
    }

    [Fact]
    public void Paired_grids_agree_cell_by_cell_and_their_other_noise_level_is_the_pairwise_cosine()
    {
        const int prompts = 3, seeds = 6;
        manual_seed(11);
        using var a = randn(prompts * seeds, 16);
        // a grid with itself: every cell agrees (cosine 1), and the other-noise level is the mean pairwise cosine of the grid
        var (same, apart) = DiversityMetrics.PairedCosine(a, a, prompts, seeds);
        Assert.Equal(1.0, same, 9);
        Assert.Equal(DiversityMetrics.MeanPairwiseCosine(a, prompts, seeds), apart, 9);
        // a slightly perturbed copy keeps each cell (paired near 1), far above independent draws of the same distribution
        using var near = a + 0.1 * randn(prompts * seeds, 16);
        var (pairedNear, apartNear) = DiversityMetrics.PairedCosine(a, near, prompts, seeds);
        Assert.True(pairedNear > 0.98 && apartNear < 0.3, $"near copy: paired {pairedNear:F3}, other noise {apartNear:F3}");
        // an independent grid: sharing the row index means nothing, so paired ≈ unpaired (both near 0 for isotropic features)
        using var independent = randn(prompts * seeds, 16);
        var (pairedInd, apartInd) = DiversityMetrics.PairedCosine(a, independent, prompts, seeds);
        Assert.True(Math.Abs(pairedInd) < 0.3 && Math.Abs(apartInd) < 0.3, $"independent: paired {pairedInd:F3}, other noise {apartInd:F3}");
        Assert.Throws<ArgumentException>(() => DiversityMetrics.PairedCosine(a, independent[..12], prompts, seeds));
    }

    [Fact]
    public void The_paired_perceptual_distance_is_zero_for_a_grid_with_itself_and_positive_across_seeds()
    {
        using var encoder = RandomEncoder("glyphs");
        const int prompts = 3, seeds = 4;
        using var grid = RealGlyphs(prompts * seeds, 4);
        var (same, apart) = DiversityMetrics.PairedPerceptual(encoder, grid, grid, prompts, seeds);
        Assert.Equal(0.0, same, 9);
        Assert.True(apart > 1e-3, $"other noise: {apart}");
        using var other = RealGlyphs(prompts * seeds, 5);
        var (ab, _) = DiversityMetrics.PairedPerceptual(encoder, grid, other, prompts, seeds);
        var (ba, _) = DiversityMetrics.PairedPerceptual(encoder, other, grid, prompts, seeds);
        Assert.Equal(ab, ba, 9);
    }

    [Fact]
    public void The_perceptual_distance_is_symmetric_zero_on_identity_and_bounded_per_stage()
    {
        using var encoder = RandomEncoder("motion");
        using var g = Runtime.NewGenerator(3);
        using var a = PhasedDmd.Data.MotionTask.RenderBatch(PhasedDmd.Data.MotionTask.SampleAttributes(6, g));
        using var b = PhasedDmd.Data.MotionTask.RenderBatch(PhasedDmd.Data.MotionTask.SampleAttributes(6, g));
        using var ab = DiversityMetrics.PerceptualDistance(encoder, a, b);
        using var ba = DiversityMetrics.PerceptualDistance(encoder, b, a);
        using var aa = DiversityMetrics.PerceptualDistance(encoder, a, a);
        Assert.True(TestUtil.MaxAbs(ab, ba) < 1e-9);
        Assert.True(aa.abs().max().item<double>() < 1e-12);
        Assert.True(ab.min().item<double>() > 0);
        Assert.True(ab.max().item<double>() <= 3 * 4.0 + 1e-9);   // unit vectors are at most 2 apart (squared: 4); three stages
    }

    [Fact]
    public void The_frechet_distance_matches_the_closed_form_for_gaussians()
    {
        manual_seed(11);
        using var a = randn(20000, 3, dtype: ScalarType.Float64) * tensor(new[] { 1.0, 2.0, 0.5 });
        // identical sets: 0
        Assert.True(DiversityMetrics.FrechetDistance(a, a) < 1e-8);
        // a shift by m leaves the covariance: exactly ‖m‖² for the same samples
        using var shifted = a + tensor(new[] { 1.0, -2.0, 0.0 });
        Assert.Equal(5.0, DiversityMetrics.FrechetDistance(a, shifted), 6);
        // scaling by 2: Σb = 4Σa, so FD = ‖μa‖² + Tr Σa + 4 Tr Σa − 2 Tr (2Σa) = ‖μa‖² + Tr Σa (≈ 1 + 4 + 0.25)
        using var scaled = 2 * a;
        var mu = a.mean([0]);
        var centred = a - mu;
        var trace = (centred.square().sum() / (a.shape[0] - 1)).item<double>();
        Assert.Equal(mu.square().sum().item<double>() + trace, DiversityMetrics.FrechetDistance(a, scaled), 6);
        // independent samples of one population: close to 0 (finite-sample bias only)
        using var other = randn(20000, 3, dtype: ScalarType.Float64) * tensor(new[] { 1.0, 2.0, 0.5 });
        Assert.True(DiversityMetrics.FrechetDistance(a, other) < 0.01);
        using var wrongWidth = randn(10, 4);
        Assert.Throws<ArgumentException>(() => DiversityMetrics.FrechetDistance(a, wrongWidth));
    }

    [Fact]
    public void The_frechet_distance_of_fewer_samples_than_dimensions_is_still_the_shift()
    {
        // 80 embeddings in 128 dimensions (an 8-seed class grid): singular covariances with 48 zero eigenvalues, on which
        // LAPACK's eigensolver can fail. A shift by m keeps the covariance, so the distance is ‖m‖² = 0.25 · 128 = 32.
        manual_seed(17);
        using var low = randn(80, 16, dtype: ScalarType.Float64).matmul(randn(16, 128, dtype: ScalarType.Float64));   // rank 16
        foreach (var a in new[] { randn(80, 128, dtype: ScalarType.Float64), low })
        {
            Assert.Equal(32.0, DiversityMetrics.FrechetDistance(a, a + 0.5), 3);
            Assert.True(DiversityMetrics.FrechetDistance(a, a) < 1e-3);
        }
    }

    [Fact]
    public void The_frechet_distance_is_right_for_non_commuting_covariances()
    {
        // 2-D: Tr (Σa^½ Σb Σa^½)^½ = √(tr(Σa Σb) + 2√(det Σa · det Σb)), since the two eigenvalues
        // λ₁, λ₂ of Σa^½ Σb Σa^½ have λ₁ + λ₂ = tr(Σa Σb) and λ₁λ₂ = det Σa det Σb.
        manual_seed(13);
        using var za = randn(5000, 2, dtype: ScalarType.Float64);
        using var zb = randn(5000, 2, dtype: ScalarType.Float64);
        using var a = za.matmul(tensor(new[,] { { 2.0, 0.0 }, { 0.0, 0.5 } }));
        using var b = zb.matmul(tensor(new[,] { { 1.0, 0.8 }, { 0.0, 1.0 } })) + tensor(new[] { 0.3, -0.2 });
        static (double[] Mu, double[,] Cov) Moments(Tensor x)
        {
            var mu = x.mean([0]);
            var c = x - mu;
            var cov = c.T.matmul(c) / (x.shape[0] - 1);
            return (mu.data<double>().ToArray(), new[,] { { cov[0, 0].item<double>(), cov[0, 1].item<double>() }, { cov[1, 0].item<double>(), cov[1, 1].item<double>() } });
        }
        var (ma, sa) = Moments(a);
        var (mb, sb) = Moments(b);
        double Det(double[,] m) => m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0];
        var trProduct = sa[0, 0] * sb[0, 0] + sa[0, 1] * sb[1, 0] + sa[1, 0] * sb[0, 1] + sa[1, 1] * sb[1, 1];
        var traceRoot = Math.Sqrt(trProduct + 2 * Math.Sqrt(Det(sa) * Det(sb)));
        var expected = Math.Pow(ma[0] - mb[0], 2) + Math.Pow(ma[1] - mb[1], 2) + sa[0, 0] + sa[1, 1] + sb[0, 0] + sb[1, 1] - 2 * traceRoot;
        Assert.Equal(expected, DiversityMetrics.FrechetDistance(a, b), 8);
    }

    [Fact]
    public void A_briefly_trained_encoder_reads_real_attributes_and_round_trips_through_its_directory()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "encoder");
        var card = EncoderTraining.Train(new EncoderTrainingConfig("glyphs", Iterations: 150, BatchSize: 64, Seed: 1, Threads: 1), dir);
        // colours are global and easy: even 150 iterations learn them; chance is 1/6
        Assert.True(card.HeldOutAccuracy["foreground"] > 0.9, $"{card.HeldOutAccuracy["foreground"]}");
        Assert.True(card.HeldOutAccuracy["background"] > 0.9, $"{card.HeldOutAccuracy["background"]}");
        var (loadedCard, loaded) = EncoderTraining.Load(dir);
        using (loaded)
        {
            Assert.Equal(card.Spec.Categories, loadedCard.Spec.Categories);
            var (accuracy, _) = EncoderTraining.Validate(loaded, 1024, 1 + 1_000_003);
            Assert.Equal(card.HeldOutAccuracy["foreground"], accuracy["foreground"], 9);
            // shuffled targets: the same encoder scores near chance
            using var scope = NewDisposeScope();
            using var g = Runtime.NewGenerator(9);
            var (x, cats, _) = loaded.Spec.Definition.EncoderBatch(512, g);
            using var noGrad = no_grad();
            var predicted = loaded.Heads(loaded.forward(x))[.., 15..21].argmax(1);
            var shuffled = cats[.., 1][randperm(512, generator: g)];
            Assert.True(predicted.eq(shuffled).to(ScalarType.Float64).mean().item<double>() < 0.4);
        }
        File.WriteAllBytes(Path.Combine(dir, EncoderTraining.WeightsFile), [1, 2, 3]);
        Assert.Throws<InputException>(() => EncoderTraining.Load(dir));
    }
}

public class CompositionMetricsTests
{
    [Fact]
    public void Wasserstein_distance_matches_closed_forms()
    {
        Assert.Equal(0, CompositionMetrics.Wasserstein1([0.1, 0.5, 0.9], [0.9, 0.1, 0.5]), 12);
        Assert.Equal(0.7, CompositionMetrics.Wasserstein1([0.0, 1.0, 2.0], [0.7, 1.7, 2.7]), 12);   // a shift moves all mass by 0.7
        Assert.Equal(0.5, CompositionMetrics.Wasserstein1([0.0, 1.0], [0.5, 0.5]), 12);
        Assert.Equal(1.0, CompositionMetrics.Wasserstein1([0.0], [1.0]), 12);
    }

    [Fact]
    public void Real_samples_match_themselves_and_a_collapsed_generator_has_no_spread()
    {
        manual_seed(5);
        using var encoder = new FeatureEncoder(EncoderSpec.ForTask("glyphs"));
        const int prompts = 3, seeds = 4;
        using var g = Runtime.NewGenerator(7);
        var batch = new PhasedDmd.Data.GlyphsTask().Sample(prompts * seeds, g);
        batch.Prompts.Dispose();
        using var real = batch.Pixels;
        var same = CompositionMetrics.Evaluate(encoder, real, real, prompts, seeds);
        // The two passes of the same images through the float32 encoder need not agree to the last bit (libtorch's
        // convolution kernels are not bitwise reproducible across calls): equal to float32 precision.
        Assert.Equal(1.0, same.SpreadRatio, 6);
        Assert.Equal(0.0, same.Wasserstein, 6);
        // every seed of a prompt renders the first seed's image: one layout per prompt
        using var collapsed = real[arange(0, prompts).repeat(seeds)];
        var c = CompositionMetrics.Evaluate(encoder, collapsed, real, prompts, seeds);
        Assert.True(c.SpreadRatio < 1e-4, $"{c.SpreadRatio}");
        Assert.Equal(["centreX", "centreY"], c.Attributes);
    }
}
