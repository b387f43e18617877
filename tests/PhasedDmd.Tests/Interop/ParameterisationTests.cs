using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Distillation;
using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Sampling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Interop;

/// <summary>
/// The exact teacher of an imbalanced 2-D mixture written by PyTorch in every parameterisation (fixtures/mixture, made by
/// <c>/usr/bin/python3 tests/PhasedDmd.Tests/Interop/make_mixture_teachers.py tests/PhasedDmd.Tests/Interop/fixtures/mixture</c>):
/// velocity, x0 and ε on flow matching with time scales 1 and 1000, and ε and v-prediction on Stable Diffusion's
/// discrete schedule with their diffusers scheduler configs. Each is exact plus a zero-initialised trainable MLP, so a
/// failure to distil is the distillation's, not the teacher's.
/// </summary>
public sealed class MixtureTeachersFixture
{
    public static readonly string Source = Path.Combine(TestUtil.RepoRoot(), "tests", "PhasedDmd.Tests", "Interop", "fixtures", "mixture");
    public static readonly (string Prediction, int Scale)[] Flow =
        [("velocity", 1), ("velocity", 1000), ("x0", 1), ("x0", 1000), ("epsilon", 1), ("epsilon", 1000)];
    public string Dir { get; } = TestUtil.TempDir("pdmd-mixture-teachers");
    public GaussianMixture Mixture { get; } = GaussianMixture.Load(Path.Combine(Source, "mixture.json"));

    public MixtureTeachersFixture()
    {
        foreach (var (prediction, scale) in Flow)
            TorchScriptImport.Import(new TorchScriptImportOptions
            {
                TorchScript = Path.Combine(Source, $"mixture_{prediction}_{scale}.pt"), Prediction = prediction, SampleShape = [2], TimeScale = scale,
                Mixture = Path.Combine(Source, "mixture.json"),
            }, Teacher(prediction, scale));
        foreach (var prediction in new[] { "epsilon", "v_prediction" })
            TorchScriptImport.Import(new TorchScriptImportOptions
            {
                TorchScript = Path.Combine(Source, $"sd_{prediction}.pt"), SampleShape = [2],
                SchedulerConfig = Path.Combine(Source, $"scheduler_config_{prediction}.json"),
            }, Sd(prediction));
    }

    public string Teacher(string prediction, int scale) => Path.Combine(Dir, $"{prediction}-{scale}");
    public string Sd(string prediction) => Path.Combine(Dir, $"sd-{prediction}");
}

[Collection(SerialCollection.Name)]
public class ParameterisationTests(MixtureTeachersFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<MixtureTeachersFixture>
{
    [Fact]
    public void The_discrete_schedule_feeds_the_timestep_and_matches_the_alpha_bar_table_pytorch_wrote()
    {
        // The module computes its exact posterior mean with its own ᾱ table (PyTorch, float64); ours must give the same
        // α_t, σ_t at every t, and feed it timestep t·T − 1, or the two would not agree.
        var (card, model) = ModelDirectory.Load(fixture.Sd("epsilon"));
        using (model)
        using (var scope = torch.NewDisposeScope())
        using (var _ = torch.no_grad())
        {
            var schedule = NoiseSchedule.FromName(card.Schedule);
            Assert.Equal(Prediction.Epsilon, model.Prediction);
            Assert.Equal("ddim", card.Sampling.Solver);
            using var g = new Generator(3);
            foreach (var t in new[] { 1.0, 0.999, 0.75, 0.5, 0.2487, 0.05, 0.004 })
            {
                var x = torch.randn([256, 2], generator: g) * 2;
                var eps = model.Predict(x, torch.full(256, t), null);
                var exact = fixture.Mixture.PosteriorMeans(x.to(ScalarType.Float64), t, schedule).Epsilon;
                Assert.True(TestUtil.MaxAbs(eps.to(ScalarType.Float64), exact) < 2e-4, $"t = {t}: {TestUtil.MaxAbs(eps.to(ScalarType.Float64), exact)}");
            }
            // t = 1 is the last training timestep, whose SNR is not zero (Stable Diffusion: ᾱ_999 ≈ 0.0047).
            Assert.InRange(schedule.Alpha(1.0) * schedule.Alpha(1.0), 0.0046, 0.0048);
        }
    }

    [Fact]
    public void Every_parameterisation_of_the_exact_teacher_samples_the_mixture_and_they_agree_on_the_same_noise()
    {
        Tensor? reference = null;
        foreach (var (prediction, scale) in MixtureTeachersFixture.Flow)
        {
            using var model = LoadedModel.Load(fixture.Teacher(prediction, scale));
            var x = ModelSampling.Sample(model, new SampleOptions(N: 4000, Seed: 2));
            var m = MixtureMetrics.Evaluate(fixture.Mixture, x);
            Assert.True(m.ModeCoverage == 1.0 && m.WeightTv < 0.05, $"{prediction} ×{scale}: coverage {m.ModeCoverage}, TV {m.WeightTv:F3}");
            if (reference is null) reference = x;
            else
            {
                // One field read three ways. x0 is read at t ≥ 1e-4, so the 40 Euler steps agree closely; ε is read at t ≤ 15/16,
                // so the first steps differ and a sample near the border of two modes may end in the other: most agree closely.
                using var distance = (reference - x).abs().max(1).values;
                var share = distance.lt(0.05).to(ScalarType.Float64).mean().item<double>();
                Assert.True(share > (prediction == "epsilon" ? 0.9 : 0.999), $"{prediction} ×{scale}: {share:P1} of samples within 0.05 of the velocity teacher's");
                x.Dispose();
            }
        }
        reference!.Dispose();
        foreach (var prediction in new[] { "epsilon", "v_prediction" })
        {
            using var model = LoadedModel.Load(fixture.Sd(prediction));
            using var x = ModelSampling.Sample(model, new SampleOptions(N: 4000, Seed: 2));
            var m = MixtureMetrics.Evaluate(fixture.Mixture, x);
            Assert.True(m.ModeCoverage == 1.0 && m.WeightTv < 0.05, $"sd {prediction}: coverage {m.ModeCoverage}, TV {m.WeightTv:F3}");
        }
    }

    [Fact]
    public void Phased_distils_the_exact_teacher_alike_in_every_parameterisation()
    {
        // A reduced budget (the closing note of issue 25 has the default-budget table): the same seed, the same trainable
        // initial weights; only what the distillation does with the parameterisation differs.
        var tv = new Dictionary<string, double>();
        foreach (var (prediction, scale) in MixtureTeachersFixture.Flow.Append(("sd-epsilon", 0)).Append(("sd-v_prediction", 0)))
        {
            var dir = scale == 0 ? fixture.Sd(prediction[3..]) : fixture.Teacher(prediction, scale);
            var card = ModelDirectory.ReadTeacherCard(dir);
            var config = DistillConfig.ForTeacher(card) with
            {
                // The same learning rate for every teacher (the defaults lower it for ε): only the parameterisation differs.
                GeneratorLearningRate = 3e-4,
                Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = Budget.Iterations, BatchSize = Budget.Batch,
                FakeUpdatesPerGeneratorUpdate = Budget.FakeUpdates, LogEvery = 50, CheckpointEvery = 0, Threads = 2, Seed = 1,
            };
            var student = Path.Combine(TestUtil.TempDir(), "student");
            using (var teacher = ModelDirectory.Load(dir).Model) new Distiller(config, card, teacher).Run(student);
            using var model = LoadedModel.Load(student);
            using var x = ModelSampling.Sample(model, new SampleOptions(N: 4000, Seed: 7));
            var m = MixtureMetrics.Evaluate(fixture.Mixture, x);
            var name = $"{prediction} ×{scale}";
            tv[name] = m.WeightTv;
            Assert.True(m.ModeCoverage == 1.0, $"{name}: coverage {m.ModeCoverage}, TV {m.WeightTv:F3}");
        }
        output.WriteLine(string.Join(", ", tv.Select(p => $"{p.Key} {p.Value:F3}")));
        var velocity = tv["velocity ×1000"];
        foreach (var (name, value) in tv)
            Assert.True(value <= velocity + Budget.Tolerance, $"{name}: TV {value:F3} against the velocity teacher's {velocity:F3} ({string.Join(", ", tv.Select(p => $"{p.Key} {p.Value:F3}"))})");
    }

    /// <summary>The reduced budget of the distillation test and the tolerance it allows over the velocity teacher's TV.</summary>
    private static class Budget
    {
        public const int Iterations = 150, Batch = 256, FakeUpdates = 3;
        public const double Tolerance = 0.03;
    }

    [Fact]
    public void A_script_saved_with_frozen_parameters_distils_and_its_teacher_stays_frozen()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "frozen");
        TorchScriptImport.Import(new TorchScriptImportOptions
        {
            TorchScript = Path.Combine(MixtureTeachersFixture.Source, "mixture_velocity_1000_frozen.pt"), Prediction = "velocity", SampleShape = [2], TimeScale = 1000,
        }, dir);
        var (card, teacher) = ModelDirectory.Load(dir);
        Assert.All(teacher.parameters(), p => Assert.False(p.requires_grad));   // as PyTorch saved it
        var config = new DistillConfig { Method = "phased", IterationsPerPhase = 3, BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 2, LogEvery = 1, Threads = 1 };
        var distiller = new Distiller(config, card, teacher);
        var before = distiller.Student.Expert(2).parameters().Select(p => p.detach().clone()).ToList();
        distiller.Run(Path.Combine(TestUtil.TempDir(), "student"));
        Assert.All(distiller.Teacher.Network.parameters(), p => Assert.False(p.requires_grad));
        Assert.Contains(distiller.Student.Expert(2).parameters().Zip(before), p => TestUtil.MaxAbs(p.First, p.Second) > 0);
        teacher.Dispose();
    }
}
