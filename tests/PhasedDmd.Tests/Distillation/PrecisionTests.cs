using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Distillation;

/// <summary>
/// <c>precision: bf16</c>: the networks hold and compute in bfloat16, what trains keeps float32 masters (<see cref="MasterWeights"/>),
/// the saved student is float32, and a resumed run is the uninterrupted one.
/// </summary>
[Collection(SerialCollection.Name)]
public class PrecisionTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string Ring8 = Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "ring8");

    [Fact]
    public void Float32_masters_keep_the_small_steps_that_bfloat16_rounds_away()
    {
        using var scope = NewDisposeScope();
        // SGD at rate 1e-4 on L = Σ p: every step lowers p by 1e-4. Next to 1, bfloat16's spacing is 2^-8 below and 2^-7 above,
        // so a bfloat16 parameter updated in place never moves; its float32 master reaches 1 − 100·1e-4 = 0.99.
        var p = new Parameter(ones(4, dtype: ScalarType.BFloat16));
        using var masters = new MasterWeights([p]);
        Assert.True(masters.Separate);
        Assert.Equal(ScalarType.Float32, masters.Optimized[0].dtype);
        using var sgd = optim.SGD(masters.Optimized, 1e-4);
        var alone = new Parameter(ones(4, dtype: ScalarType.BFloat16));
        using var sgdAlone = optim.SGD([alone], 1e-4);
        for (var i = 0; i < 100; i++)
        {
            sgd.zero_grad();
            masters.ZeroModelGradients();
            p.sum().backward();
            masters.GradientsToMasters();
            sgd.step();
            masters.MastersToModel();
            sgdAlone.zero_grad();
            alone.sum().backward();
            sgdAlone.step();
        }
        Assert.Equal(0.99, masters.Optimized[0].to(ScalarType.Float64).mean().item<double>(), 5);
        Assert.Equal(ScalarType.BFloat16, p.dtype);
        Assert.InRange(p.to(ScalarType.Float64).mean().item<double>(), 0.99 - 0.004, 0.99 + 0.004);   // the master rounded
        Assert.Equal(1.0, alone.to(ScalarType.Float64).mean().item<double>());                        // stalled

        // Float32 parameters are their own masters: nothing is copied.
        var q = new Parameter(ones(3));
        using var same = new MasterWeights([q]);
        Assert.False(same.Separate);
        Assert.Same(q, same.Optimized[0]);
    }

    [Theory]
    [InlineData("full")]
    [InlineData("lora")]
    public void A_bf16_run_computes_in_bfloat16_with_float32_masters_and_saves_a_float32_student(string experts)
    {
        var config = Config(experts == "lora" ? ExpertKind.Lora : ExpertKind.Full);
        var dir = Path.Combine(TestUtil.TempDir(), "student");
        var (card, teacher) = ModelDirectory.Load(Ring8);
        using (teacher)
        {
            var distiller = new Distiller(config, card, teacher);
            Assert.All(distiller.Teacher.Network.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
            Assert.All(distiller.Student.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
            var before = distiller.Student.parameters().Select(p => p.detach().clone()).ToList();
            distiller.Run(dir);
            var moved = distiller.Student.parameters().Zip(before).Max(x => (x.First - x.Second).abs().max().to(ScalarType.Float64).item<double>());
            Assert.True(moved > 0, "the student trained");

            // A mid-phase checkpoint holds the float32 masters of the expert and the fake score.
            var checkpoint = new CheckpointStore(Path.Combine(dir, "checkpoints")).List().Select(c => c.Path).First(c => File.Exists(Path.Combine(c, "generator_master.safetensors")));
            foreach (var part in new[] { "generator_master", "fake_master" })
                Assert.All(TorchSharp.PyBridge.Safetensors.LoadStateDict(Path.Combine(checkpoint, part + ".safetensors")).Values, t => Assert.Equal(ScalarType.Float32, t.dtype));

            // The saved student is float32 and holds the trained bfloat16 values exactly; it samples as the bfloat16 student did, to bfloat16's precision.
            var (_, saved) = StudentDirectory.Load(dir);
            using (saved)
            {
                Assert.All(saved.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
                var exact = saved.parameters().Zip(distiller.Student.parameters()).Max(x => (x.First - x.Second.to(ScalarType.Float32)).abs().max().item<float>());
                Assert.Equal(0f, exact);
                using var noise = randn(256, 2, generator: new Generator(5));
                using var a = saved.Sample(noise, null);
                using var b = distiller.Student.Sample(noise, null);
                var gap = (a - b).abs().max().item<float>();
                output.WriteLine($"{experts}: moved {moved:E2}; float32 vs bfloat16 compute of the same student: max |Δx| = {gap:E2} (samples of scale 4)");
                Assert.True(gap < 0.15, $"max |Δx| = {gap}");
            }
        }
    }

    /// <summary>Each kind of network in bfloat16 against itself in float32: the same velocities to bfloat16's precision, returned in float32.</summary>
    [Theory]
    [InlineData("ring8")]          // the MLP
    [InlineData("glyphs")]         // the DiT (with prompts)
    [InlineData("script")]         // an imported TorchScript module, its time input included
    public void A_network_in_bfloat16_gives_its_float32_velocities_to_bfloat16_precision(string which)
    {
        using var scope = NewDisposeScope();
        var dir = which == "script" ? ImportScript("gaussian_velocity.pt", null) : Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", which);
        var (card, low) = ModelDirectory.Load(dir);
        var (_, high) = ModelDirectory.Load(dir);
        using (low)
        using (high)
        {
            low.ToPrecision(ScalarType.BFloat16);
            Assert.All(low.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
            var rng = new Generator(3);
            var x = randn([16, .. card.Network.SampleShape], generator: rng);
            var t = rand(16, generator: rng) * 0.96 + 0.02;
            var condition = which == "glyphs" ? PhasedDmd.Sampling.IConditionSource.For(card, true)!.Sample(16, rng) : null;
            using var _ = no_grad();
            var reference = high.Forward(x, t, condition);
            var v = low.Forward(x, t, condition);
            Assert.Equal(ScalarType.Float32, v.dtype);
            var error = ((v - reference).norm() / reference.norm()).item<float>();
            output.WriteLine($"{which}: relative error of the bfloat16 velocity {error:E2}");
            Assert.InRange(error, 1e-6, 0.03);   // not float32 (it did compute in bfloat16), within a few bfloat16 roundings
        }
    }

    [Fact]
    public void Declared_adapters_of_a_script_train_in_bf16_on_the_teachers_shared_base()
    {
        var teacherDir = ImportScript("gaussian_lora.pt", "lora_");
        var (card, teacher) = ModelDirectory.Load(teacherDir);
        using (teacher)
        {
            var distiller = new Distiller(Config(ExpertKind.Lora), card, teacher);
            var baseBefore = distiller.Teacher.Network.named_parameters().Where(p => !p.name.Contains("lora_")).Select(p => p.parameter.detach().clone()).ToList();
            distiller.Run(Path.Combine(TestUtil.TempDir(), "student"));
            Assert.All(distiller.Student.parameters(), p => Assert.Equal(ScalarType.BFloat16, p.dtype));
            var adapters = distiller.Student.AdapterParameters()!;
            Assert.Contains(adapters, a => a.Tensor.abs().max().to(ScalarType.Float64).item<double>() > 0 && a.Name.Contains("lora_B"));   // B left zero
            var baseAfter = distiller.Teacher.Network.named_parameters().Where(p => !p.name.Contains("lora_")).Select(p => p.parameter).ToList();
            Assert.All(baseBefore.Zip(baseAfter), b => Assert.Equal(0.0, (b.First.to(ScalarType.Float64) - b.Second.to(ScalarType.Float64)).abs().max().item<double>()));
        }
    }

    [Fact]
    public void A_script_that_cannot_run_in_bf16_is_refused_in_one_line_before_anything_is_written()
    {
        // The shipped Fashion-MNIST U-Net computes its time features in float32 (t.float()) and feeds them to a linear layer.
        var (card, teacher) = ModelDirectory.Load(Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "fashion-mnist"));
        var dir = Path.Combine(TestUtil.TempDir(), "student");
        using (teacher)
        {
            var e = Assert.Throws<InputException>(() => new Distiller(Config(ExpertKind.Full) with { TeacherCfg = 2 }, card, teacher).Run(dir));
            Assert.StartsWith("precision bf16: the TorchScript module fails on bf16 inputs (RuntimeError: ", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        Assert.False(Directory.Exists(dir));
    }

    private static string ImportScript(string file, string? adapters)
    {
        var dir = Path.Combine(TestUtil.TempDir(), "teacher");
        TorchScriptImport.Import(new TorchScriptImportOptions
        {
            TorchScript = Path.Combine(TestUtil.RepoRoot(), "tests", "PhasedDmd.Tests", "Interop", "fixtures", file), Prediction = "velocity",
            SampleShape = [2], TimeScale = 1000, Adapters = adapters, AdapterAlpha = adapters is null ? null : 4,
        }, dir);
        return dir;
    }

    [Fact]
    public void An_interrupted_bf16_run_resumes_to_the_uninterrupted_one()
    {
        var config = Config(ExpertKind.Full) with { CheckpointEvery = 4 };
        var whole = Distil(config, null);
        var dir = Path.Combine(TestUtil.TempDir(), "student");
        using (var cancel = new CancellationTokenSource())
            Assert.Throws<OperationCanceledException>(() => Distil(config, new RunOptions(Cancel: cancel.Token, Observers: [new CancelAt(6, cancel)]), dir));
        Distil(config, new RunOptions(Resume: true), dir);
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, ModelDirectory.WeightsFile)), File.ReadAllBytes(Path.Combine(dir, ModelDirectory.WeightsFile)));
    }

    private static DistillConfig Config(ExpertKind experts) => new()
    {
        Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 5, BatchSize = 64, FakeUpdatesPerGeneratorUpdate = 1, LogEvery = 1,
        CheckpointEvery = 3, Threads = 1, Seed = 2, Experts = experts, Precision = Precision.Bf16, GeneratorLearningRate = 1e-3, FakeLearningRate = 1e-3,
    };

    private static string Distil(DistillConfig config, RunOptions? options, string? dir = null)
    {
        dir ??= Path.Combine(TestUtil.TempDir(), "student");
        var (card, teacher) = ModelDirectory.Load(Ring8);
        using (teacher) new Distiller(config, card, teacher).Run(dir, options);
        return dir;
    }
}
