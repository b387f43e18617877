using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Distillation;

/// <summary>The procedural tasks go through the same teacher training, distillation and sampling as the MLP tasks.</summary>
[Collection(SerialCollection.Name)]
public class DitDistillationTests
{
    private static TeacherConfig TinyTeacher(string task) => TeacherConfig.ForTask(task) with
    {
        Width = 16, Depth = 1, Heads = 2, Patch = 4, Iterations = 20, BatchSize = 8, WarmupIterations = 2, LogEvery = 5, CheckpointEvery = 0,
    };

    [Theory]
    [InlineData("glyphs", "phased", 4, 2, ExpertKind.Lora)]
    [InlineData("motion", "phased", 4, 2, ExpertKind.Full)]
    [InlineData("glyphs", "sgts", 4, 1, ExpertKind.Full)]
    [InlineData("motion", "dmd", 1, 1, ExpertKind.Full)]
    public void A_tiny_dit_teacher_trains_and_distils_end_to_end(string task, string method, int steps, int phases, ExpertKind experts)
    {
        var root = TestUtil.TempDir();
        var teacherDir = Path.Combine(root, "teacher");
        var card = TeacherTrainer.Train(TinyTeacher(task), teacherDir);
        Assert.IsType<DitSpec>(card.Network);
        Assert.Equal(3.0, card.Sampling.Cfg);
        var losses = File.ReadAllLines(Path.Combine(teacherDir, ModelDirectory.LogFile));
        Assert.Equal(1 + 20 / 5, losses.Length);   // header + one line every 5 iterations

        var (teacherCard, teacher) = ModelDirectory.Load(teacherDir);
        var config = new DistillConfig
        {
            Method = method, Steps = steps, Phases = phases, Experts = experts, LoraRank = 2, IterationsPerPhase = 2, BatchSize = 4,
            FakeUpdatesPerGeneratorUpdate = 1, TeacherCfg = 2.0, LogEvery = 1, CheckpointEvery = 0,
        };
        var studentDir = Path.Combine(root, "student");
        Dictionary<string, Tensor> before;
        var distiller = new Distiller(config, teacherCard, teacher);
        before = distiller.Student.Expert(phases).state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        distiller.Run(studentDir);
        // the last expert was trained: some of its weights moved
        var moved = distiller.Student.Expert(phases).state_dict().Any(kv => TestUtil.MaxAbs(kv.Value, before[kv.Key]) > 0);
        Assert.True(moved);

        using var student = LoadedModel.Load(studentDir);
        using var samples = ModelSampling.Sample(student, new SampleOptions(N: 3));
        Assert.Equal(new long[] { 3 }.Concat(teacherCard.Network.SampleShape).ToArray(), samples.shape);
        Assert.True(samples.isfinite().all().item<bool>());
    }
}
