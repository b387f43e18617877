using System.Diagnostics;
using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using Xunit;

namespace PhasedDmd.Tests.Interop;

/// <summary>
/// TorchScript files written by real PyTorch and committed (tests/PhasedDmd.Tests/Interop/fixtures, made by
/// <c>/usr/bin/python3 tests/PhasedDmd.Tests/Interop/make_teachers.py tests/PhasedDmd.Tests/Interop/fixtures</c>
/// with Debian's python3-torch 1.13), and their imports.
/// </summary>
public sealed class TorchScriptFixture
{
    public string Dir { get; } = TestUtil.TempDir("pdmd-torchscript");
    public static readonly float[] Mean = [1.5f, -0.5f];
    public const float Std = 0.5f;

    public TorchScriptFixture()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(TestUtil.RepoRoot(), "tests", "PhasedDmd.Tests", "Interop", "fixtures")))
            System.IO.File.Copy(file, Path.Combine(Dir, Path.GetFileName(file)));
        foreach (var prediction in new[] { "velocity", "x0", "epsilon" })
            TorchScriptImport.Import(new TorchScriptImportOptions
            {
                TorchScript = Path.Combine(Dir, $"gaussian_{prediction}.pt"), Prediction = prediction, SampleShape = [2], TimeScale = 1000,
            }, Teacher(prediction));
    }

    public string File(string name) => Path.Combine(Dir, name);
    public string Teacher(string prediction) => Path.Combine(Dir, $"teacher-{prediction}");
}

/// <summary>
/// Teachers imported from TorchScript: the exact Gaussian predictor written three ways (velocity, x0,
/// epsilon, with timesteps = t·1000) samples the known distribution; bad files are refused before
/// anything is written; every method distils an imported teacher, and resume after SIGKILL is exact.
/// No Python is needed: the modules were written by PyTorch once and committed.
/// </summary>
[Collection(SerialCollection.Name)]
public class TorchScriptTeacherTests(TorchScriptFixture fixture) : IClassFixture<TorchScriptFixture>
{
    [Fact]
    public void The_exact_gaussian_predictor_in_every_parameterisation_samples_its_distribution()
    {
        var samples = new Dictionary<string, float[][]>();
        foreach (var prediction in new[] { "velocity", "x0", "epsilon" })
        {
            using var model = LoadedModel.Load(fixture.Teacher(prediction));
            using var x = ModelSampling.Sample(model, new SampleOptions(N: 4000, Seed: 3));
            samples[prediction] = [.. Enumerable.Range(0, 2).Select(d => x.select(1, d).contiguous().data<float>().ToArray())];
            for (var d = 0; d < 2; d++)
            {
                var values = samples[prediction][d];
                var mean = values.Average();
                var std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
                Assert.InRange(mean, TorchScriptFixture.Mean[d] - 0.03, TorchScriptFixture.Mean[d] + 0.03);   // standard error 0.008
                Assert.InRange(std, TorchScriptFixture.Std - 0.05, TorchScriptFixture.Std + 0.05);           // plus 40 Euler steps' bias
            }
        }
        // One field, three conversions: the same noise gives the same samples (up to the ends where x0 and epsilon are evaluated).
        foreach (var other in new[] { "x0", "epsilon" })
            for (var d = 0; d < 2; d++)
                Assert.True(samples["velocity"][d].Zip(samples[other][d]).Max(p => Math.Abs(p.First - p.Second)) < 1e-2, other);
    }

    [Fact]
    public void Eval_scores_an_imported_teacher_against_a_mixture_file()
    {
        var root = TestUtil.TempDir();
        var right = Path.Combine(root, "right.json");
        var wrong = Path.Combine(root, "wrong.json");
        File.WriteAllText(right, """{"means": [[1.5, -0.5]], "stds": [0.5], "weights": [1]}""");
        File.WriteAllText(wrong, """{"means": [[-3.0, 3.0]], "stds": [0.5], "weights": [1]}""");
        (double Coverage, double OffMode) Eval(string mixture)
        {
            var output = Path.Combine(root, Path.GetFileNameWithoutExtension(mixture) + "-metrics.json");
            var (code, err) = Reliability.ResumeTests.Cli(null, "eval", "--model", fixture.Teacher("velocity"), "--mixture", mixture, "--n", "2000", "--out", output);
            Assert.True(code == 0, err);
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(output));
            return (doc.RootElement.GetProperty("mode_coverage").GetDouble(), doc.RootElement.GetProperty("off_mode_fraction").GetDouble());
        }
        var own = Eval(right);
        Assert.Equal(1.0, own.Coverage, 6);
        Assert.InRange(own.OffMode, 0, 0.02);            // its own distribution: within 3 std × √2 of the mean
        Assert.InRange(Eval(wrong).OffMode, 0.99, 1);    // 8.4 std away: nothing is on the mode
        var (missing, message) = Reliability.ResumeTests.Cli(null, "eval", "--model", fixture.Teacher("velocity"), "--out", Path.Combine(root, "none.json"));
        Assert.Equal(2, missing);
        Assert.Contains("give one with --mixture FILE", message);
    }

    [Fact]
    public void Compare_runs_every_method_on_an_imported_teacher_against_a_mixture_file()
    {
        var root = TestUtil.TempDir();
        var mixture = Path.Combine(root, "gaussian.json");
        File.WriteAllText(mixture, """{"means": [[1.5, -0.5]], "stds": [0.5], "weights": [1]}""");
        var config = Path.Combine(root, "base.json");
        Json.Write(config, new DistillConfig { BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 1, LogEvery = 1, Threads = 1 });
        var output = Path.Combine(root, "compare");
        var (code, err) = Reliability.ResumeTests.Cli(null, "compare", "--teacher", fixture.Teacher("velocity"), "--mixture", mixture, "--seeds", "1",
                                                      "--iterations-per-phase", "2", "--config", config, "--out", output);
        Assert.True(code == 0, err);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "compare.json")));
        var rows = doc.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!, r => r.GetProperty("mean"));
        Assert.Equal(["teacher", "dmd", "fewstep", "sgts", "phased", "phased+naive", "phased+disjoint", "phased+full-phase-backprop"], rows.Keys);
        Assert.Equal(1.0, rows["teacher"].GetProperty("mode_coverage").GetDouble());
        Assert.InRange(rows["teacher"].GetProperty("off_mode_fraction").GetDouble(), 0, 0.02);   // the teacher is the exact predictor of that Gaussian
        (code, err) = Reliability.ResumeTests.Cli(null, "compare", "--teacher", fixture.Teacher("velocity"), "--out", Path.Combine(root, "none"));
        Assert.Equal(2, code);
        Assert.Contains("give one with --mixture FILE", err);
        Assert.False(Directory.Exists(Path.Combine(root, "none")));
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "not_torchscript.pt", "is not a TorchScript file" },
        { "one_input.pt", "the module must take (x, t)" },
        { "wrong_shape.pt", "returns shape [4, 1], not the sample shape [4, 2]" },
        { "not_finite.pt", "not finite" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void A_bad_file_is_refused_in_one_line_with_exit_code_two_and_nothing_is_written(string file, string message)
    {
        var output = Path.Combine(TestUtil.TempDir(), "imported");
        var (code, err) = Reliability.ResumeTests.Cli(null, "import-teacher", "--torchscript", fixture.File(file), "--prediction", "velocity",
                                                      "--sample-shape", "2", "--out", output);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Every_method_distils_an_imported_teacher_and_lora_is_refused_plainly()
    {
        var (card, teacher) = ModelDirectory.Load(fixture.Teacher("velocity"));
        foreach (var (method, steps, phases) in new[] { ("dmd", 1, 1), ("fewstep", 4, 1), ("sgts", 4, 1), ("phased", 4, 2) })
        {
            var config = DistillationMethod.Find(method).Shape(new DistillConfig
            {
                IterationsPerPhase = 3, BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 2, LogEvery = 1, Threads = 1,
            }, steps, phases);
            var dir = Path.Combine(TestUtil.TempDir(), method);
            new Distiller(config, card, ModelDirectory.Load(fixture.Teacher("velocity")).Model).Run(dir);
            Assert.True(File.Exists(Path.Combine(dir, "model.pt")), "the student carries the script its experts are copies of");
            using var student = LoadedModel.Load(dir);
            using var x = ModelSampling.Sample(student, new SampleOptions(N: 64));
            Assert.True(x.isfinite().all().item<bool>());
        }
        var lora = new DistillConfig { Experts = ExpertKind.Lora, IterationsPerPhase = 1, BatchSize = 32 };
        var e = Assert.Throws<InputException>(() => new Distiller(lora, card, teacher));
        Assert.Contains("import-teacher --adapters PATTERN", e.Message);
    }

    [Fact]
    public void Killed_mid_phase_then_resumed_on_an_imported_teacher_matches_the_uninterrupted_run()
    {
        var root = TestUtil.TempDir();
        var config = Path.Combine(root, "distill.json");
        Json.Write(config, new DistillConfig
        {
            Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 40, BatchSize = 64, FakeUpdatesPerGeneratorUpdate = 2,
            CheckpointEvery = 5, LogEvery = 5, Threads = 1, Seed = 11,
        });
        var teacher = fixture.Teacher("x0");
        var reference = Path.Combine(root, "uninterrupted");
        var (code, err) = Reliability.ResumeTests.Cli(null, "distill", "--teacher", teacher, "--config", config, "--out", reference);
        Assert.True(code == 0, err);

        var dir = Path.Combine(root, "run");
        using (var job = Distributed.Mpi.Start(0, "distill", "--teacher", teacher, "--config", config, "--out", dir))
        {
            TestUtil.WaitForCheckpoint(dir, 15, job.Process, "killed");
            job.Process.Kill(entireProcessTree: true);
            job.Process.WaitForExit();
        }
        (code, err) = Reliability.ResumeTests.Cli(null, "distill", "--teacher", teacher, "--resume", dir);
        Assert.True(code == 0, err);
        TestUtil.AssertSameWeights(reference, dir);
    }
}
