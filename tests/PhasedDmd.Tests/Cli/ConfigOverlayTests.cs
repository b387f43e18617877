using System.Text.Json.Nodes;
using PhasedDmd.Cli;
using PhasedDmd.Cli.Support;
using PhasedDmd.Distillation;
using PhasedDmd.Training;
using Xunit;

namespace PhasedDmd.Tests.Cli;

/// <summary>Options and <c>--set</c> laid over a config: every key reachable, each value checked against its type.</summary>
[Collection(SerialCollection.Name)]
public class ConfigOverlayTests(TinyTeacherFixture teacher) : IClassFixture<TinyTeacherFixture>
{
    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var (previousOut, previousErr) = (Console.Out, Console.Error);
        var (output, error) = (new StringWriter(), new StringWriter());
        Console.SetOut(output);
        Console.SetError(error);
        try { return (PhasedDmdApp.Run(args), output.ToString(), error.ToString()); }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousErr);
        }
    }

    [Fact]
    public void An_imported_conditional_image_teacher_gets_its_own_guidance_and_defaults_sized_for_images()
    {
        var fixtures = Path.Combine(TestUtil.RepoRoot(), "tests", "PhasedDmd.Tests", "Interop", "fixtures");
        var dir = Path.Combine(TestUtil.TempDir(), "image-teacher");
        var (code, _, stderr) = Run("import-teacher", "--torchscript", Path.Combine(fixtures, "image_conditional.pt"), "--prediction", "velocity",
                                    "--time-scale", "1000", "--sample-shape", "1,8,8", "--conditions", Path.Combine(fixtures, "conditional", "conditions.safetensors"),
                                    "--cfg", "2", "--out", dir);
        Assert.True(code == 0, stderr);
        (code, var stdout, stderr) = Run("distill", "--teacher", dir, "--print-config");
        Assert.True(code == 0, stderr);
        var config = JsonNode.Parse(stdout)!;
        Assert.Equal(2.0, config["teacherCfg"]!.GetValue<double>());   // the card's guidance, not 1
        Assert.Equal(32, config["batchSize"]!.GetValue<int>());         // not the 2-D points' 512
        Assert.Equal(2, config["fakeUpdatesPerGeneratorUpdate"]!.GetValue<int>());
        // A 2-D imported teacher keeps the point-model defaults.
        var points = Path.Combine(TestUtil.TempDir(), "point-teacher");
        (code, _, stderr) = Run("import-teacher", "--torchscript", Path.Combine(fixtures, "gaussian_velocity.pt"), "--prediction", "velocity",
                                "--time-scale", "1000", "--sample-shape", "2", "--out", points);
        Assert.True(code == 0, stderr);
        (code, stdout, stderr) = Run("distill", "--teacher", points, "--print-config");
        Assert.True(code == 0, stderr);
        Assert.Equal(512, JsonNode.Parse(stdout)!["batchSize"]!.GetValue<int>());
        // A scheduler config that contradicts --prediction is one error, and nothing is written.
        var sd = Path.Combine(TestUtil.TempDir(), "sd");
        (code, _, stderr) = Run("import-teacher", "--torchscript", Path.Combine(fixtures, "mixture", "sd_epsilon.pt"), "--prediction", "velocity",
                                "--scheduler-config", Path.Combine(fixtures, "mixture", "scheduler_config_epsilon.json"), "--sample-shape", "2", "--out", sd);
        Assert.Equal(2, code);
        Assert.Contains("contradicts the scheduler config's epsilon", stderr);
        Assert.False(Directory.Exists(sd));
    }

    [Fact]
    public void Print_config_shows_the_method_shape_the_options_and_every_set_and_trains_nothing()
    {
        var (code, stdout, stderr) = Run("distill", "--teacher", teacher.ModelDir, "--method", "sgts", "--lr", "0.001",
            "--set", "gradClip=1.5", "--set", "beta1=0.9", "--set", "interval=disjoint", "--set", "phaseIterations=[]", "--print-config");
        Assert.True(code == 0, stderr);
        var c = JsonNode.Parse(stdout)!;
        Assert.Equal("sgts", c["method"]!.GetValue<string>());
        Assert.Equal(1, c["phases"]!.GetValue<int>());                 // the single-expert shape of sgts
        Assert.Equal(4, c["steps"]!.GetValue<int>());
        Assert.Equal(0.001, c["generatorLearningRate"]!.GetValue<double>());
        Assert.Equal(1.5, c["gradClip"]!.GetValue<double>());
        Assert.Equal(0.9, c["beta1"]!.GetValue<double>());
        Assert.Equal("disjoint", c["interval"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("beta1", "0.5")]
    [InlineData("beta2", "0.9")]
    [InlineData("weightDecay", "0.01")]
    [InlineData("gradClip", "2")]
    [InlineData("timeMargin", "0.05")]
    [InlineData("fakeLossClamp", "5")]
    [InlineData("fakeStudentBlend", "0.1")]
    [InlineData("maxNonFiniteInARow", "3")]
    public void Keys_without_an_option_are_set_with_set_and_nothing_else_changes(string key, string value)
    {
        var settings = new PhasedDmd.Cli.Commands.DistillSettings { Teacher = teacher.ModelDir, Set = [$"{key}={value}"] };
        var before = JsonNode.Parse(PhasedDmd.IO.Json.Serialize(new PhasedDmd.Cli.Commands.DistillSettings { Teacher = teacher.ModelDir }.ToConfig()))!.AsObject();
        var after = JsonNode.Parse(PhasedDmd.IO.Json.Serialize(settings.ToConfig()))!.AsObject();
        Assert.Equal(double.Parse(value, System.Globalization.CultureInfo.InvariantCulture), after[key]!.GetValue<double>());
        Assert.Equal([key], before.Select(kv => kv.Key).Where(k => !JsonNode.DeepEquals(before[k], after[k])));
    }

    [Theory]
    [InlineData("nope=1", "--set: unknown config key 'nope'")]
    [InlineData("gradClip=abc", "--set gradClip: not a valid value of gradClip: 'abc' (expected a number)")]
    [InlineData("dmdLoss=magic", "dmdLoss: unknown objective 'magic' (registered: normalized, analytic)")]
    [InlineData("gradClip", "--set: expected key=value")]
    [InlineData("interval=7", "--set interval: unknown value '7'")]
    public void A_bad_set_is_one_line_naming_the_key_and_exit_code_2(string set, string expected)
    {
        var (code, _, stderr) = Run("distill", "--teacher", teacher.ModelDir, "--set", set, "--print-config");
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Set_method_shapes_the_config_like_the_option_and_null_restores_a_default()
    {
        var (code, stdout, stderr) = Run("distill", "--teacher", teacher.ModelDir, "--set", "method=dmd", "--set", "truncation=full", "--set", "truncation=null", "--print-config");
        Assert.True(code == 0, stderr);
        var c = JsonNode.Parse(stdout)!;
        Assert.Equal(1, c["steps"]!.GetValue<int>());   // dmd's own shape, as with --method dmd
        Assert.Equal(1, c["phases"]!.GetValue<int>());
        Assert.Null(c["truncation"]);
    }

    [Fact]
    public void Train_teacher_takes_set_and_print_config_too()
    {
        var (code, stdout, stderr) = Run("train-teacher", "--task", "grid9", "--set", "warmupIterations=7", "--set", "tMin=0.01", "--print-config");
        Assert.True(code == 0, stderr);
        var c = JsonNode.Parse(stdout)!;
        Assert.Equal("grid9", c["task"]!.GetValue<string>());
        Assert.Equal(7, c["warmupIterations"]!.GetValue<int>());
        Assert.Equal(0.01, c["tMin"]!.GetValue<double>());
    }

    [Fact]
    public void Every_option_marked_with_a_config_key_names_a_real_key()
    {
        foreach (var (settings, keys) in new[]
                 {
                     (typeof(PhasedDmd.Cli.Commands.DistillSettings), ConfigOverlay.KeyTypes<DistillConfig>()),
                     (typeof(PhasedDmd.Cli.Commands.TrainTeacherSettings), ConfigOverlay.KeyTypes<TeacherConfig>()),
                 })
            foreach (var p in settings.GetProperties())
                if (p.GetCustomAttributes(typeof(ConfigKeyAttribute), true).FirstOrDefault() is ConfigKeyAttribute a)
                {
                    Assert.True(keys.ContainsKey(a.Key), $"{settings.Name}.{p.Name} names '{a.Key}', which is not a config key");
                    // An option that is not given must be null, or it would overwrite the config with its default.
                    Assert.True(!p.PropertyType.IsValueType || Nullable.GetUnderlyingType(p.PropertyType) is not null, $"{settings.Name}.{p.Name} is not nullable");
                }
    }
}
