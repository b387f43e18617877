using PhasedDmd.Distillation;
using PhasedDmd.IO;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Distillation;

/// <summary>
/// Gradient accumulation: a batch run in micro-batches (each loss weighted by its share) gives the gradient of the whole
/// batch in one pass — the same draws, the same update — for every way the gradient reaches an expert (one exit step,
/// every step of a phase, a frozen earlier expert before the phase).
/// </summary>
[Collection(SerialCollection.Name)]
public class MicroBatchTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string Teacher = Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "ring8");

    [Theory]
    [InlineData("sgts", 1)]      // the exit step's one network evaluation records the gradient
    [InlineData("fewstep", 1)]   // every step does
    [InlineData("phased", 2)]    // phase 2's rollout runs the frozen expert 1 first
    public void Micro_batches_give_the_gradient_of_the_whole_batch(string method, int phases)
    {
        // The fake score trains (the DMD gradient is zero while it equals the teacher); a generator learning rate of 1e-12 keeps
        // phase 1's expert where it started, so that phase 2's rollout is the same in both runs.
        var config = new DistillConfig
        {
            Method = method, Steps = 4, Phases = phases, IterationsPerPhase = 1, BatchSize = 64, FakeUpdatesPerGeneratorUpdate = 2,
            GeneratorLearningRate = 1e-12, LogEvery = 1, CheckpointEvery = 0, Threads = 1, Seed = 3,
        };
        var whole = Gradients(config);
        var micro = Gradients(config with { MicroBatch = 24 });   // 24 + 24 + 16
        Assert.Equal(whole.Count, micro.Count);
        var scale = whole.Max(g => g.abs().max().item<float>());
        var worst = whole.Zip(micro).Max(p => (p.First - p.Second).abs().max().item<float>());
        output.WriteLine($"{method}: max |Δ grad| = {worst:E2} at gradient scale {scale:E2}");
        Assert.True(scale > 0, "the update had a gradient");
        Assert.True(worst <= 1e-5 * Math.Max(1, scale), $"max |Δ grad| = {worst:E2} at scale {scale:E2}");
        foreach (var g in whole.Concat(micro)) g.Dispose();
    }

    [Fact]
    public void A_micro_batch_as_large_as_the_batch_trains_bit_identically_and_a_negative_one_is_refused()
    {
        var config = new DistillConfig { Method = "phased", IterationsPerPhase = 3, BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 1, CheckpointEvery = 0, Threads = 1, Seed = 4 };
        var a = Distil(config);
        var b = Distil(config with { MicroBatch = 32 });
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, ModelDirectory.WeightsFile)), File.ReadAllBytes(Path.Combine(b, ModelDirectory.WeightsFile)));
        var e = Assert.Throws<InputException>(() => (config with { MicroBatch = -1 }).Validate());
        Assert.StartsWith("microBatch:", e.Message);
    }

    private static string Distil(DistillConfig config)
    {
        var dir = Path.Combine(TestUtil.TempDir(), "student");
        var (card, teacher) = ModelDirectory.Load(Teacher);
        using (teacher) new Distiller(config, card, teacher).Run(dir);
        return dir;
    }

    /// <summary>The gradients of each phase's generator update, read from its expert's parameters right after the update.</summary>
    private static List<Tensor> Gradients(DistillConfig config)
    {
        var (card, teacher) = ModelDirectory.Load(Teacher);
        using (teacher)
        {
            var distiller = new Distiller(config, card, teacher);
            var grabber = new GradientGrabber(distiller);
            distiller.Run(Path.Combine(TestUtil.TempDir(), "student"), new PhasedDmd.Training.RunOptions(Observers: [grabber]));
            return grabber.Gradients;
        }
    }

    private sealed class GradientGrabber(Distiller distiller) : PhasedDmd.Training.ITrainingObserver
    {
        public List<Tensor> Gradients { get; } = [];

        public void Updated(PhasedDmd.Training.UpdateReport report)
        {
            foreach (var p in distiller.Student.Expert(report.Phase).parameters())
                Gradients.Add(p.grad is { } g ? g.detach().clone() : torch.zeros_like(p));
        }
    }
}
