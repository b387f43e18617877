using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Sampling;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Interop;

/// <summary>
/// The class-conditional teacher trained in PyTorch by examples/pytorch-teacher/train_teacher.py (committed in
/// fixtures/conditional: four classes, class c a Gaussian N(m_c, 0.4² I) with m_c = (±2.5, ±2.5); forward(x, t, cond),
/// cond the class id, id 4 the learnt "no class"), imported once with CFG 1 and once with CFG 1.5.
/// </summary>
public sealed class ConditionalFixture
{
    public static readonly string Source = Path.Combine(TestUtil.RepoRoot(), "tests", "PhasedDmd.Tests", "Interop", "fixtures", "conditional");
    public static readonly string[] Names = ["northeast", "northwest", "southwest", "southeast"];
    public static readonly double[][] Means = [[2.5, 2.5], [-2.5, 2.5], [-2.5, -2.5], [2.5, -2.5]];
    public const double Std = 0.4;

    public string Dir { get; } = TestUtil.TempDir("pdmd-conditional");
    public string Teacher => Path.Combine(Dir, "teacher");
    public string Guided => Path.Combine(Dir, "teacher-cfg1.5");

    public ConditionalFixture()
    {
        Import(Teacher, 1);
        Import(Guided, 1.5);
    }

    public static string File(string name) => Path.Combine(Source, name);

    private static void Import(string dir, double cfg) => TorchScriptImport.Import(new TorchScriptImportOptions
    {
        TorchScript = File("teacher.pt"), Prediction = "velocity", SampleShape = [2], Conditions = File("conditions.safetensors"),
        Names = File("names.txt"), Cfg = cfg,
    }, dir);
}

[Collection(SerialCollection.Name)]
public class ConditionalTorchScriptTests(ConditionalFixture fixture) : IClassFixture<ConditionalFixture>
{
    [Fact]
    public void A_class_conditional_teacher_samples_each_class_of_its_conditions_file()
    {
        using var model = LoadedModel.Load(fixture.Teacher);
        Assert.True(model.IsConditional);
        using var file = ((FileConditions)IConditionSource.For(model.Card, model.IsConditional)!).File;
        Assert.Equal(ConditionalFixture.Names, file.Names);
        var rows = ConditionalFixture.Names.Select(file.Resolve).ToArray();
        Assert.Equal([0, 1, 2, 3], rows);
        Assert.Equal(2, file.Resolve("2"));
        using var x = ModelSampling.SamplePrompts(model, rows, null, new SampleOptions(N: 2000, Seed: 5));
        Assert.Equal([8000L, 2], x.shape);
        for (var c = 0; c < 4; c++)
        {
            using var part = x.narrow(0, 2000L * c, 2000);
            for (var d = 0; d < 2; d++)
            {
                using var column = part.select(1, d);
                var mean = TestUtil.Scalar(column.mean());
                var std = TestUtil.Scalar(column.std());
                Assert.InRange(mean, ConditionalFixture.Means[c][d] - 0.12, ConditionalFixture.Means[c][d] + 0.12);   // the class mean (a trained teacher)
                Assert.InRange(std, 0.8 * ConditionalFixture.Std, 1.2 * ConditionalFixture.Std);
            }
        }
    }

    [Fact]
    public void Guidance_combines_the_class_with_the_null_row_of_the_conditions_file()
    {
        var (card, model) = ModelDirectory.Load(fixture.Guided);
        using (model)
        using (var raw = torch.jit.load<Tensor>(ConditionalFixture.File("teacher.pt")))
        using (var scope = torch.NewDisposeScope())
        using (var _ = torch.no_grad())
        {
            Assert.Equal(1.5, card.Sampling.Cfg);
            using var g = new Generator(3);
            var x = torch.randn([64, 2], generator: g) * 3;
            var t = torch.rand([64], generator: g);
            var cond = torch.randint(4, [64], generator: g);
            Assert.True(model.NullCondition(cond).eq(4).all().item<bool>(), "the null row of the file is id 4");
            var conditional = raw.call(x, t, cond);
            var unconditional = raw.call(x, t, torch.full(64, 4L, dtype: ScalarType.Int64));
            var expected = unconditional + 1.5 * (conditional - unconditional);
            Assert.True(TestUtil.MaxAbs(model.GuidedVelocity(x, t, cond, 1.5), expected) < 1e-5);
            Assert.True(TestUtil.MaxAbs(model.GuidedVelocity(x, t, cond, 0), unconditional) < 1e-5);
        }
    }

    [Fact]
    public void A_conditional_teacher_distils_and_its_student_samples_the_class_it_is_given()
    {
        var root = TestUtil.TempDir();
        var config = Path.Combine(root, "distill.json");
        Json.Write(config, new DistillConfig
        {
            Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 10, BatchSize = 64, FakeUpdatesPerGeneratorUpdate = 2, LogEvery = 5, Threads = 1,
        });
        var student = Path.Combine(root, "student");
        var (code, err) = Reliability.ResumeTests.Cli(null, "distill", "--teacher", fixture.Guided, "--config", config, "--out", student);
        Assert.True(code == 0, err);
        Assert.True(System.IO.File.Exists(Path.Combine(student, ConditionsFile.FileName)), "the student carries the conditions");
        var output = Path.Combine(root, "southwest.csv");
        (code, err) = Reliability.ResumeTests.Cli(null, "sample", "--model", student, "--prompt", "southwest", "--n", "1000", "--out", output);
        Assert.True(code == 0, err);
        using var x = NoiseCsv.Read(output, [2]);
        Assert.Equal(1000, x.shape[0]);
        var inQuadrant = TestUtil.Scalar((x.select(1, 0).lt(0) & x.select(1, 1).lt(0)).to(ScalarType.Float64).mean());
        Assert.True(inQuadrant > 0.95, $"{inQuadrant:P1} of the southwest samples are in the southwest quadrant");
        Assert.True(System.IO.File.Exists(Path.ChangeExtension(output, ".png")));
    }

    public static TheoryData<string, string> BadConditions => new()
    {
        { "float-rows", "forward(x, t, cond) failed" },
        { "unknown-key", "unknown tensor 'extra'" },
        { "no-cond", "has no 'cond' tensor" },
        { "null-shape", "'null' in" },
        { "names", "names 3 rows, but 'cond' has 4" },
        { "cfg-without-null", "has no 'null' row" },
        { "unconditional-module", "forward(x, t, cond) failed" },
    };

    [Theory]
    [MemberData(nameof(BadConditions))]
    public void Conditions_that_do_not_fit_are_refused_in_one_line_and_nothing_is_written(string bad, string message)
    {
        var root = TestUtil.TempDir();
        var conditions = Path.Combine(root, "conditions.safetensors");
        var ids = torch.arange(4L);
        var tensors = bad switch
        {
            "float-rows" => new Dictionary<string, Tensor> { ["cond"] = torch.ones(4, 3) },
            "unknown-key" => new Dictionary<string, Tensor> { ["cond"] = ids, ["extra"] = ids },
            "no-cond" => new Dictionary<string, Tensor> { ["conditions"] = ids },
            "null-shape" => new Dictionary<string, Tensor> { ["cond"] = ids, ["null"] = torch.tensor(new long[] { 4, 4 }) },
            "cfg-without-null" => new Dictionary<string, Tensor> { ["cond"] = ids },
            _ => new Dictionary<string, Tensor> { ["cond"] = ids, ["null"] = torch.tensor(new long[] { 4 }) },
        };
        Safetensors.SaveStateDict(conditions, tensors);
        var names = Path.Combine(root, "names.txt");
        System.IO.File.WriteAllText(names, bad == "names" ? "a\nb\nc\n" : "a\nb\nc\nd\n");
        var script = bad == "unconditional-module"
            ? Path.Combine(TestUtil.RepoRoot(), "tests", "PhasedDmd.Tests", "Interop", "fixtures", "gaussian_velocity.pt")
            : ConditionalFixture.File("teacher.pt");
        var output = Path.Combine(root, "imported");
        var (code, err) = Reliability.ResumeTests.Cli(null, "import-teacher", "--torchscript", script, "--prediction", "velocity", "--sample-shape", "2",
            "--conditions", conditions, "--names", names, "--cfg", bad == "cfg-without-null" ? "2" : "1", "--out", output);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Sample_refuses_a_prompt_that_is_not_a_row_and_names_the_choices()
    {
        var output = Path.Combine(TestUtil.TempDir(), "x.csv");
        var (code, err) = Reliability.ResumeTests.Cli(null, "sample", "--model", fixture.Teacher, "--prompt", "north", "--n", "10", "--out", output);
        Assert.Equal(2, code);
        Assert.Contains("'north' is not a row of the conditions file (expected northeast, northwest, southwest, southeast)", err);
        Assert.False(System.IO.File.Exists(output));
        var ring = Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "ring8");
        (code, err) = Reliability.ResumeTests.Cli(null, "sample", "--model", ring, "--prompt", "0", "--n", "10", "--out", output);
        Assert.Equal(2, code);
        Assert.Contains("no conditions file", err);
    }
}
