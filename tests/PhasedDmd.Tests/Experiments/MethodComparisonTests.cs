using PhasedDmd.Distillation;
using PhasedDmd.Experiments;
using PhasedDmd.IO;
using PhasedDmd.Tests.Distillation;
using Xunit;

namespace PhasedDmd.Tests.Experiments;

[Collection(SerialCollection.Name)]
public class MethodComparisonTests(SmallTeacherFixture fixture) : IClassFixture<SmallTeacherFixture>
{
    private static ComparisonSettings Tiny => new()
    {
        Seeds = 2, IterationsPerPhase = 4, EvalSamples = 400,
        Base = new DistillConfig { BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 1, CheckpointEvery = 2, LogEvery = 1 },
    };

    [Fact]
    public void The_table_has_a_row_per_entry_and_a_restart_reuses_finished_runs_and_resumes_interrupted_ones()
    {
        var settings = Tiny;
        var entries = MethodComparison.StandardEntries(settings).Where(e => e.Name is "teacher" or "sgts" or "phased").ToList();
        var dir = TestUtil.TempDir();
        var rows = MethodComparison.Run(fixture.Dir, settings, dir, entries);
        Assert.Equal(["teacher", "sgts", "phased"], rows.Select(r => r.Name));
        Assert.True(double.IsNaN(rows[0].Mean["seconds"]));          // the teacher is not trained here
        Assert.All(rows, r => Assert.InRange(r.Mean["weight_tv"], 0, 1));
        var table = File.ReadAllText(Path.Combine(dir, "compare.md"));
        Assert.Contains("| phased | 2 |", table);

        // Restart: finished students are reused (same weights, same metrics); an interrupted one
        // (its model removed, checkpoints kept) resumes and ends with the same student.
        var student = Path.Combine(dir, "phased", "seed1");
        var weights = File.ReadAllBytes(Path.Combine(student, ModelDirectory.WeightsFile));
        File.Delete(Path.Combine(student, ModelDirectory.CardFile));
        var untouched = File.GetLastWriteTimeUtc(Path.Combine(dir, "sgts", "seed0", ModelDirectory.WeightsFile));
        var again = MethodComparison.Run(fixture.Dir, settings, dir, entries);
        Assert.Equal(untouched, File.GetLastWriteTimeUtc(Path.Combine(dir, "sgts", "seed0", ModelDirectory.WeightsFile)));
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(student, ModelDirectory.WeightsFile)));
        for (var i = 0; i < rows.Count; i++)
            Assert.Equal(rows[i].Mean["weight_tv"], again[i].Mean["weight_tv"], 12);
    }
}
