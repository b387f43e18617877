using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Interop;

/// <summary>
/// A TorchScript teacher whose author put LoRA in before scripting (<c>gaussian_lora.pt</c>, written by real
/// PyTorch): imported with <c>--adapters lora_</c>, its LoRA experts and fake scores share its frozen base
/// tensors and train only the declared adapters; an interrupted run resumes exactly.
/// </summary>
[Collection(SerialCollection.Name)]
public class ImportedAdapterTests(TorchScriptFixture fixture) : IClassFixture<TorchScriptFixture>
{
    private static readonly DistillConfig Config = new()
    {
        Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 8, BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 2, LogEvery = 2,
        CheckpointEvery = 0, Threads = 1, Experts = ExpertKind.Lora,
    };

    private string Import(string? adapters = "lora_")
    {
        var dir = Path.Combine(TestUtil.TempDir(), "teacher-lora");
        TorchScriptImport.Import(new TorchScriptImportOptions
        {
            TorchScript = fixture.File("gaussian_lora.pt"), Prediction = "velocity", SampleShape = [2], TimeScale = 1000, Adapters = adapters,
            AdapterAlpha = adapters is null ? null : 4,
        }, dir);
        return dir;
    }

    [Fact]
    public void Declared_adapters_train_alone_on_the_teachers_shared_base()
    {
        var dir = Import();
        var (card, teacher) = ModelDirectory.Load(dir);
        var original = teacher.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var distiller = new Distiller(Config, card, teacher);
        using var fake = FakeScore.FromTeacher(distiller.Teacher, Config, CPU, 1);
        string[] adapters = ["net.hidden.lora_A.weight", "net.hidden.lora_B.weight", "net.out.lora_A.weight", "net.out.lora_B.weight"];
        Assert.Equal(adapters, distiller.Student.Adapters(1)!.Parameters.Select(p => p.Name));
        Assert.Equal(4, fake.Parameters.Count);
        using (torch.no_grad())
        {
            foreach (var (_, p) in teacher.named_parameters()) p.mul_(2.0);
            foreach (var net in new[] { distiller.Student.Expert(1), distiller.Student.Expert(2), fake.Network })
                foreach (var (name, p) in net.named_parameters().Where(p => !adapters.Contains(p.name)))
                    Assert.Equal(0.0, TestUtil.MaxAbs(p, original[name] * 2.0));
            foreach (var (_, p) in teacher.named_parameters()) p.div_(2.0);
        }

        // Renewed for the next phase, a declared adapter is back at the values the script was saved with.
        using (torch.no_grad()) foreach (var p in fake.Parameters) p.add_(0.5);
        fake.Renew(Config, 2);
        foreach (var (name, p) in fake.Network.named_parameters()) Assert.Equal(0.0, TestUtil.MaxAbs(p, original[name]));

        var run = Path.Combine(TestUtil.TempDir(), "student");
        distiller.Run(run);
        foreach (var k in new[] { 1, 2 })
            foreach (var (name, p) in distiller.Student.Expert(k).named_parameters())
            {
                var changed = TestUtil.MaxAbs(p, original[name]) > 0;
                if (name.EndsWith("lora_B.weight")) Assert.True(changed, $"expert {k}'s {name} trained");
                else if (!adapters.Contains(name)) Assert.False(changed, $"expert {k}'s base {name} is frozen");
            }
    }

    [Fact]
    public void An_interrupted_distillation_with_declared_adapters_resumes_exactly()
    {
        var dir = Import();
        var root = TestUtil.TempDir();
        string reference = Path.Combine(root, "ref"), run = Path.Combine(root, "run");
        var (card, teacher) = ModelDirectory.Load(dir);
        new Distiller(Config, card, teacher).Run(reference);
        using var cts = new CancellationTokenSource();
        (card, teacher) = ModelDirectory.Load(dir);
        Assert.Throws<OperationCanceledException>(() => new Distiller(Config, card, teacher)
            .Run(run, new RunOptions(Cancel: cts.Token, Observers: [new ProgressObserver(p => { if (p.Done >= 11) cts.Cancel(); })])));
        // The checkpoint keeps the adapters only: the base is the teacher's, not written once per expert.
        var saved = Directory.GetFiles(run, "student.safetensors", SearchOption.AllDirectories);
        Assert.NotEmpty(saved);
        Assert.All(Safetensors.LoadStateDict(saved[0]).Keys, k => Assert.Contains("lora_", k));
        Assert.All(Safetensors.LoadStateDict(Directory.GetFiles(run, "fake.safetensors", SearchOption.AllDirectories)[0]).Keys, k => Assert.Contains("lora_", k));
        (card, teacher) = ModelDirectory.Load(dir);
        new Distiller(Config, card, teacher).Run(run, new RunOptions(Resume: true));
        var x = Safetensors.LoadStateDict(Path.Combine(reference, ModelDirectory.WeightsFile));
        var y = Safetensors.LoadStateDict(Path.Combine(run, ModelDirectory.WeightsFile));
        Assert.Equal(x.Keys.Order(), y.Keys.Order());
        Assert.True(x.Max(kv => TestUtil.MaxAbs(kv.Value, y[kv.Key])) <= 1e-6);
    }

    [Fact]
    public void Adapter_patterns_are_checked_at_import_and_lora_without_them_is_refused()
    {
        Assert.Contains("no parameter of the network matches", Assert.Throws<InputException>(() => Import("adapter_weights")).Message);
        Assert.Contains("matches all 10 parameters", Assert.Throws<InputException>(() => Import(".")).Message);
        var (card, teacher) = ModelDirectory.Load(Import(null));
        Assert.Contains("import-teacher", Assert.Throws<InputException>(() => new Distiller(Config, card, teacher)).Message);
    }
}
