using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Training;
using TorchSharp.PyBridge;
using Xunit;

namespace PhasedDmd.Tests.Reliability;

/// <summary>Ctrl-C (a cancelled token) writes a checkpoint; resuming from it ends where an uninterrupted run ends.</summary>
[Collection(SerialCollection.Name)]
public class InterruptTests
{
    private static double MaxWeightDifference(string a, string b)
    {
        var x = Safetensors.LoadStateDict(Path.Combine(a, ModelDirectory.WeightsFile));
        var y = Safetensors.LoadStateDict(Path.Combine(b, ModelDirectory.WeightsFile));
        Assert.Equal(x.Keys.Order(), y.Keys.Order());
        return x.Max(kv => TestUtil.MaxAbs(kv.Value, y[kv.Key]));
    }

    [Fact]
    public void Interrupted_teacher_training_resumes_exactly()
    {
        var config = new TeacherConfig { Task = "grid9", Hidden = 32, Layers = 3, Iterations = 60, BatchSize = 64, LogEvery = 10, CheckpointEvery = 25, Threads = 1 };
        var root = TestUtil.TempDir();
        string reference = Path.Combine(root, "ref"), run = Path.Combine(root, "run");
        TeacherTrainer.Train(config, reference);

        using var cts = new CancellationTokenSource();
        var e = Assert.Throws<OperationCanceledException>(() =>
            TeacherTrainer.Train(config, run, new RunOptions(Cancel: cts.Token, Observers: [new ProgressObserver(p => { if (p.Done >= 30) cts.Cancel(); })])));
        Assert.Contains("interrupted at iteration 30", e.Message);
        Assert.False(File.Exists(Path.Combine(run, ModelDirectory.WeightsFile)));
        TeacherTrainer.Train(config, run, new RunOptions(Resume: true));
        Assert.True(MaxWeightDifference(reference, run) <= 1e-5);
    }

    [Fact]
    public void Interrupted_distillation_resumes_exactly()
    {
        var root = TestUtil.TempDir();
        var teacherDir = Path.Combine(root, "teacher");
        TeacherTrainer.Train(new TeacherConfig { Task = "ring8", Hidden = 32, Layers = 3, Iterations = 100, BatchSize = 128, LogEvery = 50 }, teacherDir);
        var config = new DistillConfig
        {
            Method = "phased", Steps = 2, Phases = 2, IterationsPerPhase = 12, BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 2,
            LogEvery = 2, CheckpointEvery = 0, Threads = 1, Experts = PhasedDmd.Generators.ExpertKind.Lora, LoraRank = 2,
        };
        string reference = Path.Combine(root, "ref"), run = Path.Combine(root, "run");
        var (card, teacher) = ModelDirectory.Load(teacherDir);
        new Distiller(config, card, teacher).Run(reference);

        using var cts = new CancellationTokenSource();
        (card, teacher) = ModelDirectory.Load(teacherDir);
        Assert.Throws<OperationCanceledException>(() =>
            new Distiller(config, card, teacher).Run(run, new RunOptions(Cancel: cts.Token, Observers: [new ProgressObserver(p => { if (p.Done >= 16) cts.Cancel(); })])));
        (card, teacher) = ModelDirectory.Load(teacherDir);
        new Distiller(config, card, teacher).Run(run, new RunOptions(Resume: true));
        Assert.True(MaxWeightDifference(reference, run) <= 1e-5);
    }
}
