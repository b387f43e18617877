using System.Text.Json;
using Xunit;

namespace PhasedDmd.Tests.Experiments;

/// <summary>compare on a DiT teacher: every method of the video Table 3 (dmd, sgts, phased K=2 and K=4) distils and is scored on the prompt grid.</summary>
[Collection(SerialCollection.Name)]
public class PromptGridComparisonTests
{
    [Fact]
    public void Compare_on_a_video_teacher_scores_every_method_on_its_prompt_grid()
    {
        var root = TestUtil.TempDir();
        var config = Path.Combine(root, "base.json");
        PhasedDmd.IO.Json.Write(config, PhasedDmd.Distillation.DistillConfig.ForTeacher(PhasedDmd.IO.ModelDirectory.ReadCard(Teacher)) with
        {
            BatchSize = 4, FakeUpdatesPerGeneratorUpdate = 1, LogEvery = 1, Threads = 2,
        });
        var output = Path.Combine(root, "compare");
        var (code, err) = Reliability.ResumeTests.Cli(null, "compare", "--teacher", Teacher, "--seeds", "1", "--iterations-per-phase", "2", "--config", config, "--out", output);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "compare.json")));
        var rows = doc.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!, r => r.GetProperty("mean"));
        Assert.Equal(["teacher", "dmd", "sgts", "phased", "phased-K4"], rows.Keys);
        Assert.Equal(1.0, rows["teacher"].GetProperty("direction_accuracy").GetDouble());   // the shipped teacher follows every direction
        Assert.All(rows.Values, r => Assert.InRange(r.GetProperty("mean_absolute_flow").GetDouble(), 0.01, 5));
        Assert.Contains("| phased-K4 | 1 |", File.ReadAllText(Path.Combine(output, "compare.md")));
        var k4 = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "phased-K4", "seed0", "model.json"))).RootElement;
        Assert.Equal(3, k4.GetProperty("student").GetProperty("layout").GetProperty("boundaries").GetArrayLength());
    }

    private static string Teacher => Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "motion");
}
