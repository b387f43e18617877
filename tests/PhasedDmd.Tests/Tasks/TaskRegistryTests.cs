using System.Text.Json.Nodes;
using PhasedDmd.Cli;
using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.IO;
using Xunit;

namespace PhasedDmd.Tests.Tasks;

/// <summary>The task seam from outside the core: a task defined in this assembly goes through every command by its name.</summary>
[Collection(SerialCollection.Name)]
public class TaskRegistryTests
{
    private static (int Code, string Stderr) Run(params string[] args) => TestUtil.RunCli(args);

    private static JsonObject ReadJson(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    [Fact]
    public void A_task_registered_outside_the_core_trains_distils_evaluates_and_compares_by_its_name()
    {
        TaskRegistry.Register(LineTask.Instance);
        var dir = TestUtil.TempDir("pdmd-task");
        string teacher = Path.Combine(dir, "teacher"), student = Path.Combine(dir, "student");

        Assert.Equal(0, Run("train-teacher", "--task", "test-line", "--seed", "1", "--out", teacher).Code);
        var card = ModelDirectory.ReadCard(teacher);
        Assert.Equal("test-line", card.Task.Name);
        Assert.Equal(LineTask.Exact.Weights, card.Task.Mixture!.Weights);   // the task's own data went into the card
        Assert.Equal(800, Json.Read<PhasedDmd.Training.TeacherConfig>(Path.Combine(teacher, ModelDirectory.RunConfigFile), "config").Iterations);   // its defaults

        Assert.Equal(0, Run("distill", "--teacher", teacher, "--seed", "1", "--out", student).Code);
        var distilled = Json.Read<DistillConfig>(Path.Combine(student, ModelDirectory.RunConfigFile), "config");
        Assert.Equal((150, 128, 2), (distilled.IterationsPerPhase, distilled.BatchSize, distilled.FakeUpdatesPerGeneratorUpdate));   // its distillation defaults

        // eval scores against the task's exact mixture: a 4-step student of this easy teacher keeps all three modes
        foreach (var (model, name) in new[] { (teacher, "teacher"), (student, "student") })
        {
            var json = Path.Combine(dir, $"{name}.json");
            Assert.Equal(0, Run("eval", "--model", model, "--out", json).Code);
            var m = ReadJson(json);
            Assert.Equal(1.0, m["mode_coverage"]!.GetValue<double>());
            Assert.True(m["weight_tv"]!.GetValue<double>() < 0.15, $"{name}: weight TV {m["weight_tv"]}");
        }

        var compare = Path.Combine(dir, "compare");
        Assert.Equal(0, Run("compare", "--teacher", teacher, "--seeds", "1", "--iterations-per-phase", "10", "--out", compare).Code);
        var rows = JsonNode.Parse(File.ReadAllText(Path.Combine(compare, "compare.json")))!.AsArray();
        Assert.Contains(rows, r => r!["name"]!.GetValue<string>() == "phased");
        var settings = ReadJson(Path.Combine(compare, "compare_settings.json"));
        Assert.Equal(128, settings["settings"]!["base"]!["batchSize"]!.GetValue<int>());   // compare starts from the task's defaults too
    }

    [Fact]
    public void An_unknown_task_is_one_error_that_lists_the_registered_ones()
    {
        TaskRegistry.Register(LineTask.Instance);
        var (code, err) = Run("train-teacher", "--task", "no-such-task", "--out", Path.Combine(TestUtil.TempDir("pdmd-task"), "t"));
        Assert.NotEqual(0, code);
        Assert.Contains("unknown task 'no-such-task'", err);
        foreach (var name in new[] { "ring8", "glyphs", "motion-free", "test-line" }) Assert.Contains(name, err);
        // the task of imported models has no data to train on
        (code, err) = Run("train-teacher", "--task", "imported", "--out", Path.Combine(TestUtil.TempDir("pdmd-task"), "t"));
        Assert.NotEqual(0, code);
        Assert.Contains("no training data", err);
    }

    [Fact]
    public void A_name_belongs_to_one_task()
    {
        TaskRegistry.Register(LineTask.Instance);
        TaskRegistry.Register(LineTask.Instance);   // the same object again is harmless
        Assert.Throws<ArgumentException>(() => TaskRegistry.Register(new LineTask()));
        Assert.Throws<ArgumentException>(() => TaskRegistry.Register(new RenamedTask("ring8")));
        Assert.Same(LineTask.Instance, TaskRegistry.Find("test-line"));
    }

    [Fact]
    public void The_core_never_names_the_suite_s_task()
    {
        var src = Path.Combine(TestUtil.RepoRoot(), "src");
        var naming = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f) is var text && (text.Contains("LineTask", StringComparison.Ordinal) || text.Contains("test-line", StringComparison.Ordinal)))
            .ToList();
        Assert.Empty(naming);
    }

    private sealed class RenamedTask(string name) : ITask
    {
        public string Name => name;
        public string Summary => "a second task under a taken name";
    }
}
