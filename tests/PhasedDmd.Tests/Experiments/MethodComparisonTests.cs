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
    public void The_table_has_a_row_per_entry_and_a_restart_reuses_finished_runs_and_measures_and_resumes_interrupted_ones()
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
        // (its model and its newest checkpoint removed) resumes from an earlier checkpoint,
        // retrains the lost updates and ends with the same student.
        var student = Path.Combine(dir, "phased", "seed1");
        var weights = File.ReadAllBytes(Path.Combine(student, ModelDirectory.WeightsFile));
        File.Delete(Path.Combine(student, ModelDirectory.CardFile));
        var checkpoints = new CheckpointStore(Path.Combine(student, "checkpoints")).List();
        Assert.True(checkpoints.Count >= 2, "the tiny run keeps two checkpoints");
        Directory.Delete(checkpoints[0].Path, recursive: true);
        var untouched = File.GetLastWriteTimeUtc(Path.Combine(dir, "sgts", "seed0", ModelDirectory.WeightsFile));
        DateTime Measured(string entry, int seed) => File.GetLastWriteTimeUtc(Path.Combine(dir, entry, $"seed{seed}", "metrics.json"));
        var (teacherMeasured, sgtsMeasured, retrainedMeasured) = (Measured("teacher", 1), Measured("sgts", 0), Measured("phased", 1));
        Thread.Sleep(20);
        var again = MethodComparison.Run(fixture.Dir, settings, dir, entries);
        Assert.Equal(untouched, File.GetLastWriteTimeUtc(Path.Combine(dir, "sgts", "seed0", ModelDirectory.WeightsFile)));
        // Measures are reused where nothing changed (the teacher's, a finished student's) and taken again for the retrained student.
        Assert.Equal(teacherMeasured, Measured("teacher", 1));
        Assert.Equal(sgtsMeasured, Measured("sgts", 0));
        Assert.NotEqual(retrainedMeasured, Measured("phased", 1));
        // A damaged measures file is measured again, not an error.
        File.WriteAllText(Path.Combine(dir, "sgts", "seed0", MethodComparison.MeasuresFile), "{ not json");
        Thread.Sleep(20);
        var repaired = MethodComparison.Run(fixture.Dir, settings, dir, entries);
        Assert.NotEqual(sgtsMeasured, Measured("sgts", 0));
        Assert.Equal(again[1].Mean["weight_tv"], repaired[1].Mean["weight_tv"], 12);
        // ... and a change of what is measured (the number of samples) measures every model again.
        var resampled = MethodComparison.Run(fixture.Dir, settings with { EvalSamples = 300 }, dir, entries.Take(1).ToList());
        Assert.NotEqual(teacherMeasured, Measured("teacher", 1));
        Assert.NotEqual(again[0].Mean["mmd"], resampled[0].Mean["mmd"]);
        Assert.Equal(weights, File.ReadAllBytes(Path.Combine(student, ModelDirectory.WeightsFile)));
        for (var i = 0; i < rows.Count; i++)
            Assert.Equal(rows[i].Mean["weight_tv"], again[i].Mean["weight_tv"], 12);
    }

    [Fact]
    public void An_interrupted_run_with_a_different_config_is_refused_not_overwritten()
    {
        var settings = Tiny;
        var entries = MethodComparison.StandardEntries(settings).Where(e => e.Name is "dmd").ToList();
        var dir = TestUtil.TempDir();
        MethodComparison.Run(fixture.Dir, settings with { Seeds = 1 }, dir, entries);
        var student = Path.Combine(dir, "dmd", "seed0");
        File.Delete(Path.Combine(student, ModelDirectory.CardFile));
        var before = Directory.GetFiles(student, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

        var changed = settings with { Seeds = 1, Base = settings.Base with { GeneratorLearningRate = settings.Base.GeneratorLearningRate * 2 } };
        var e = Assert.Throws<InputException>(() =>
            MethodComparison.Run(fixture.Dir, changed, dir, MethodComparison.StandardEntries(changed).Where(x => x.Name is "dmd").ToList()));
        Assert.Contains("different config", e.Message);
        foreach (var (file, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(file));
    }
}
