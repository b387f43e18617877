using System.Globalization;
using System.Text.Json.Nodes;
using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Tests.Data;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Interop;

/// <summary>
/// The shipped Fashion-MNIST teacher (a U-Net trained in Debian's PyTorch, examples/fashion-mnist) through the user's path: a few
/// phased updates, sample, eval against the real test images, and the export sampled by PyTorch. Sized to run in about a minute.
/// </summary>
public sealed class FashionMnistFixture
{
    public static string Teacher => Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "fashion-mnist");
    public string Dir { get; } = TestUtil.TempDir("pdmd-fashion");
    public string Student => Path.Combine(Dir, "student");
    public string Export => Path.Combine(Dir, "export");

    public FashionMnistFixture()
    {
        var (card, teacher) = ModelDirectory.Load(Teacher);
        var config = DistillConfig.ForTeacher(card) with
        {
            Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 3, BatchSize = 8, FakeUpdatesPerGeneratorUpdate = 1, LogEvery = 1, ValidationSamples = 20,
        };
        using (teacher) new Distiller(config, card, teacher).Run(Student);
        StudentExport.Export(Student, Export);
    }
}

[Collection(SerialCollection.Name)]
public class FashionMnistTeacherTests(FashionMnistFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<FashionMnistFixture>
{
    [FashionMnistFact]
    public void The_shipped_teacher_draws_the_class_it_is_asked_for()
    {
        var root = TestUtil.TempDir();
        var json = Path.Combine(root, "teacher.json");
        var (code, err) = TestUtil.RunCli("eval", "--model", FashionMnistFixture.Teacher, "--seeds", "20", "--out", json);
        Assert.True(code == 0, err);
        var m = JsonNode.Parse(File.ReadAllText(json))!;
        var accuracy = m["class_accuracy"]!.GetValue<double>();
        output.WriteLine($"teacher, 20 per class: class accuracy {accuracy:F3}, recall {m["recall"]}, Fréchet {m["frechet_distance"]} (data: {m["data"]!["frechet_distance"]})");
        Assert.True(accuracy >= 0.85, $"class accuracy {accuracy}");
        Assert.True(File.Exists(Path.ChangeExtension(json, ".png")));
    }

    [FashionMnistFact]
    public void A_briefly_distilled_student_samples_a_class_grid_and_is_evaluated_against_the_test_images()
    {
        var root = TestUtil.TempDir();
        var png = Path.Combine(root, "grid.png");
        var (code, err) = TestUtil.RunCli("sample", "--model", fixture.Student, "--seeds", "3", "--out", png);
        Assert.True(code == 0, err);
        Assert.True(new FileInfo(png).Length > 0);
        using (var csv = NoiseCsv.Read(Path.ChangeExtension(png, ".csv"), [1, 28, 28]))
            Assert.Equal(30, csv.shape[0]);   // 3 seeds of each of the 10 classes
        var json = Path.Combine(root, "student.json");
        // paired with itself: the same noises give the same images, cell by cell
        (code, err) = TestUtil.RunCli("eval", "--model", fixture.Student, "--seeds", "10", "--paired-with", fixture.Student, "--out", json);
        Assert.True(code == 0, err);
        var m = JsonNode.Parse(File.ReadAllText(json))!;
        var paired = m["paired"]!;
        Assert.Equal(1.0, paired["feature_cosine"]!.GetValue<double>(), 6);
        Assert.Equal(0.0, paired["perceptual"]!.GetValue<double>(), 9);
        Assert.True(paired["feature_cosine_other_noise"]!.GetValue<double>() < 0.999);
        Assert.True(paired["perceptual_other_noise"]!.GetValue<double>() > 1e-3);
        foreach (var key in new[] { "frechet_distance", "class_accuracy", "precision", "recall", "intra_class_cosine", "intra_class_perceptual" })
        {
            Assert.InRange(m[key]!.GetValue<double>(), 0, double.MaxValue);
            Assert.InRange(m["data"]![key]!.GetValue<double>(), 0, double.MaxValue);
        }
        Assert.True(m["data"]!["class_accuracy"]!.GetValue<double>() > 0.85);   // real images are read as their class
    }

    [FashionMnistFact]
    public void The_distillation_was_validated_against_the_teacher_with_pictures_and_the_feature_distance()
    {
        // Before training and at both phase ends: a grid of the same noises each time, beside the teacher's; the rows carry
        // the sliced distance, the boundary distance and the Fréchet distance in the shipped classifier's features.
        var validation = Path.Combine(fixture.Student, PhasedDmd.Distillation.ValidationMonitor.Folder);
        Assert.True(File.Exists(Path.Combine(validation, PhasedDmd.Distillation.ValidationMonitor.TeacherGrid)));
        Assert.Equal(["step_000000.png", "step_000003.png", "step_000006.png"],
            Directory.GetFiles(validation, "step_*.png").Select(f => Path.GetFileName(f)!).Order().ToArray());
        var lines = File.ReadAllLines(Path.Combine(fixture.Student, ModelDirectory.LogFile));
        var header = lines[0].Split(',');
        foreach (var key in new[] { "val_swd", "val_swd_b1", "val_fd" })
        {
            var column = Array.IndexOf(header, key);
            var values = lines.Skip(1).Select(l => l.Split(',')[column]).Where(v => v.Length > 0).Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(3, values.Count);
            Assert.All(values, v => Assert.True(double.IsFinite(v) && v > 0, $"{key} = {v}"));
        }
        Assert.True(File.Exists(Path.Combine(fixture.Student, PhasedDmd.Plotting.RunCurves.DefaultFile)));
    }

    [FashionMnistFact]
    public void Import_checks_that_a_fashion_mnist_teacher_is_a_class_conditional_28_by_28_image_model()
    {
        var root = TestUtil.TempDir();
        var script = Path.Combine(FashionMnistFixture.Teacher, "teacher.pt");
        var conditions = Path.Combine(FashionMnistFixture.Teacher, ConditionsFile.FileName);
        string[] common = ["import-teacher", "--torchscript", script, "--prediction", "velocity", "--conditions", conditions];
        var (code, err) = TestUtil.RunCli([.. common, "--sample-shape", "1,28,28", "--task", "fashion-mnist", "--out", Path.Combine(root, "a")]);
        Assert.Equal(2, code);
        Assert.Contains("--names naming the classes", err);
        (code, err) = TestUtil.RunCli([.. common, "--sample-shape", "1,28,28", "--task", "ring8", "--out", Path.Combine(root, "b")]);
        Assert.Equal(2, code);
        Assert.Contains("does not take imported models", err);
        var fixtures = Path.Combine(TestUtil.RepoRoot(), ExportFixture.Fixtures);
        (code, err) = TestUtil.RunCli("import-teacher", "--torchscript", Path.Combine(fixtures, "image_conditional.pt"), "--prediction", "velocity",
                                      "--sample-shape", "1,8,8", "--conditions", conditions, "--task", "fashion-mnist", "--out", Path.Combine(root, "c"));
        Assert.Equal(2, code);
        Assert.Contains("fashion-mnist images are [1, 28, 28]", err);
        Assert.Empty(Directory.GetDirectories(root));
    }

    [PythonTorchFact]
    public void Sampled_by_PyTorch_an_exported_image_student_equals_phased_dmd_sample_on_the_same_noise()
    {
        if (!PhasedDmd.Data.FashionMnist.Available) return;
        var root = TestUtil.TempDir();
        var noise = Path.Combine(root, "noise.csv");
        using (var g = new Generator(42))
        using (var n = randn([6, 784], generator: g))
            PhasedDmd.Cli.Commands.SampleCommand.WriteCsv(noise, TensorExport.ToMatrix(n));
        var ours = Path.Combine(root, "csharp.csv");
        var theirs = Path.Combine(root, "pytorch.csv");
        var (code, err) = TestUtil.RunCli("sample", "--model", fixture.Student, "--noise", noise, "--prompt", "sandal,bag", "--out", ours);
        Assert.True(code == 0, err);
        var (pyCode, pyOut) = ExportTests.RunPython(Path.Combine(fixture.Export, StudentExport.SamplerFile), ["--noise", noise, "--prompt", "sandal,bag", "--out", theirs]);
        Assert.True(pyCode == 0, pyOut);
        using var a = NoiseCsv.Read(ours, [1, 28, 28]);
        using var b = NoiseCsv.Read(theirs, [1, 28, 28]);
        Assert.Equal(12, b.shape[0]);
        Assert.Equal(a.shape, b.shape);
        var worst = ((a - b).abs() / a.abs().clamp_min(1)).max().item<float>();   // the round-trip contract of docs/reliability.md
        output.WriteLine($"max |Δ| / max(1, |x|) {worst:G3}");
        Assert.True(worst <= 1e-4, $"max |Δ| / max(1, |x|) = {worst.ToString("G3", CultureInfo.InvariantCulture)}");
    }
}
