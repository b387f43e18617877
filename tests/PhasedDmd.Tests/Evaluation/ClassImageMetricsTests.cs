using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Tests.Data;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Evaluation;

public class PrecisionRecallTests
{
    private static (double P, double R) Measure(Func<Tensor, Tensor> generatedFrom, int dim = 2)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(3);
        var real = randn([1000, dim], generator: g);
        var generated = generatedFrom(randn([1000, dim], generator: g));
        return ClassImageMetrics.PrecisionRecall(real, generated, 3);
    }

    [Fact]
    public void Two_samples_of_one_distribution_cover_each_other()
    {
        var (p, r) = Measure(x => x);
        Assert.True(p > 0.95 && r > 0.95, $"precision {p}, recall {r}");
    }

    [Fact]
    public void A_distant_distribution_has_neither_precision_nor_recall()
    {
        var (p, r) = Measure(x => x + 10);
        Assert.Equal(0, p);
        Assert.Equal(0, r);
    }

    [Fact]
    public void A_contracted_generator_keeps_precision_and_loses_recall()
    {
        // Samples inside the data's support (x · 0.3) are all plausible; the data's tails are not covered.
        var (p, r) = Measure(x => x * 0.3);
        Assert.True(p > 0.95, $"precision {p}");
        Assert.True(r < 0.6, $"recall {r}");
    }

    [Fact]
    public void A_generator_repeating_few_points_has_no_recall()
    {
        var (_, r) = Measure(x => x[..10].repeat(100, 1));
        Assert.True(r < 0.02, $"recall {r}");
    }
}

/// <summary>The class-grid measures on known cases, in the feature space of the shipped Fashion-MNIST classifier.</summary>
[Collection(SerialCollection.Name)]
public class ClassImageMetricsTests
{
    private const int PerClass = 100;

    private static ClassImageEvaluation Evaluation()
    {
        var task = TaskRegistry.Find<IClassImageTask>("fashion-mnist", "class-grid evaluation");
        return ClassImageEvaluation.Standard(task, PerClass, Path.Combine(TestUtil.RepoRoot(), "assets", "encoders", "fashion-mnist"));
    }

    [FashionMnistFact]
    public void The_shipped_classifier_reads_the_test_split_at_90_percent_or_more()
    {
        var card = PhasedDmd.IO.Json.Read<EncoderCard>(Path.Combine(TestUtil.RepoRoot(), "assets", "encoders", "fashion-mnist", EncoderTraining.CardFile), "encoder card");
        using var evaluation = Evaluation();
        var (accuracy, _) = EncoderTraining.Validate(evaluation.Encoder, 0, 0);
        Assert.True(accuracy["class"] >= 0.90, $"test accuracy {accuracy["class"]}");
        Assert.Equal(card.HeldOutAccuracy["class"], accuracy["class"], 6);   // the card records what the weights score
    }

    [FashionMnistFact]
    public void Real_training_images_against_the_test_split_are_close_and_cover_it()
    {
        using var evaluation = Evaluation();
        var real = evaluation.MeasureRealData(seed: 0);
        using var test = evaluation.Task.ReferenceGrid(PerClass);
        using var g = new Generator(5);
        using var noisy = (test + 0.5 * randn(test.shape, generator: g)).clamp(-1, 1);   // the same images under heavy noise: a poor generator
        var poor = evaluation.Measure(noisy);
        Assert.True(real.FrechetDistance < 0.2 * poor.FrechetDistance, $"Fréchet distance {real.FrechetDistance} (noisy test images: {poor.FrechetDistance})");
        Assert.True(real.Precision > 0.8 && real.Recall > 0.8, $"precision {real.Precision}, recall {real.Recall}");
        Assert.True(real.ClassAccuracy > 0.88, $"class accuracy {real.ClassAccuracy}");
    }

    [FashionMnistFact]
    public void A_generator_that_repeats_one_image_per_class_has_no_recall_and_cosine_one()
    {
        using var evaluation = Evaluation();
        var train = FashionMnist.Load("train");
        var one = train.ClassGrid(1);   // the first training image of each class
        using var repeated = train.Images([.. Enumerable.Range(0, PerClass).SelectMany(_ => one)]);
        var m = evaluation.Measure(repeated);
        Assert.True(m.Recall < 0.05, $"recall {m.Recall}");
        Assert.Equal(1.0, m.IntraClassCosine, 4);
        Assert.Equal(0.0, m.IntraClassPerceptual, 6);
    }

    [FashionMnistFact]
    public void Images_shuffled_across_classes_read_as_the_class_asked_one_time_in_ten()
    {
        using var evaluation = Evaluation();
        var train = FashionMnist.Load("train");
        using var g = new Generator(11);
        // Random training images placed in random columns: the class asked for is independent of the image.
        using var shuffled = train.Images(train.RandomIndices(PerClass * 10, g));
        var m = evaluation.Measure(shuffled);
        Assert.InRange(m.ClassAccuracy, 0.07, 0.13);
    }
}
