using System.Globalization;
using PhasedDmd.Distillation;
using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Plotting;
using PhasedDmd.Tests.Interop;
using PhasedDmd.Training;
using TorchSharp;
using Xunit;

namespace PhasedDmd.Tests.Distillation;

/// <summary>
/// The validation monitor on the exact teacher of an imbalanced mixture (built from its closed form in PyTorch, so a bad
/// curve is the distillation's or the monitor's, not the teacher's): its generic distance follows the exact mode-weight
/// TV, tells a collapsed student from a trained one, freezes with each phase's expert, never changes what is trained, and
/// survives a resume.
/// </summary>
[Collection(SerialCollection.Name)]
public class ValidationMonitorTests(MixtureTeachersFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<MixtureTeachersFixture>
{
    private string Teacher => fixture.Teacher("velocity", 1);

    private static DistillConfig Phased => new()
    {
        Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 200, BatchSize = 256, FakeUpdatesPerGeneratorUpdate = 3,
        LogEvery = 50, CheckpointEvery = 0, Threads = 2, Seed = 1, ValidateEvery = 25, ValidationSamples = 1024,
    };

    private static string Distil(string teacherDir, DistillConfig config, RunOptions? options = null, string? dir = null)
    {
        dir ??= Path.Combine(TestUtil.TempDir(), "student");
        var (card, teacher) = ModelDirectory.Load(teacherDir);
        using (teacher) new Distiller(config, card, teacher).Run(dir, options);
        return dir;
    }

    /// <summary>The validation rows of a run's log: each a map from column to value.</summary>
    private static List<Dictionary<string, double>> ValidationRows(string dir)
    {
        var lines = File.ReadAllLines(Path.Combine(dir, ModelDirectory.LogFile));
        var columns = lines[0].Split(',');
        return lines.Skip(1).Select(l => l.Split(','))
            .Select(cells => columns.Zip(cells).Where(c => c.Second.Length > 0)
                .ToDictionary(c => c.First, c => double.Parse(c.Second, CultureInfo.InvariantCulture)))
            .Where(r => r.ContainsKey("val_swd")).ToList();
    }

    [Fact]
    public void The_sliced_distance_matches_its_closed_form_between_shifted_gaussians()
    {
        // Projections of N(0, I) and N(m, I) onto θ differ by the shift m·θ alone, so SW₂² = E(m·θ)² = |m|²/D over uniform θ.
        using var g = new torch.Generator(5);
        const int n = 5000, d = 8;
        using var x = torch.randn([n, d], generator: g);
        using var shift = torch.full(d, 0.5f);
        using var y = torch.randn([n, d], generator: g) + shift;
        var expected = 0.5 * Math.Sqrt(d) / Math.Sqrt(d);
        var sw = SlicedWasserstein.Distance(x, y, seed: 3, projections: 500);
        Assert.InRange(sw, 0.95 * expected, 1.05 * expected);
        Assert.Equal(0.0, SlicedWasserstein.Distance(x, x, seed: 3));
        Assert.Equal(sw, SlicedWasserstein.Distance(x, y, seed: 3, projections: 500));   // the same directions for the same seed
        output.WriteLine($"sliced W2 {sw:F4}, closed form {expected:F4}");
    }

    [Fact]
    public void The_generic_distance_follows_the_exact_weight_tv_and_tells_a_collapsed_student_from_a_trained_one()
    {
        var phased = Distil(Teacher, Phased);
        var rows = ValidationRows(phased);
        Assert.Equal(1 + 2 * (200 / 25), rows.Count);   // before training, every 25 updates (the phase ends among them)
        var swd = rows.Select(r => r["val_swd"]).ToArray();
        var tv = rows.Select(r => r["val_weight_tv"]).ToArray();
        var rho = Spearman(swd, tv);
        output.WriteLine($"Spearman(val_swd, exact weight TV) over {rows.Count} validations: {rho:F3}");
        output.WriteLine(string.Join("; ", rows.Select(r => $"{r["step"]}: swd {r["val_swd"]:F3} tv {r["val_weight_tv"]:F3}")));
        Assert.True(rho >= 0.7, $"Spearman {rho:F3}");

        // One-step DMD at a learning rate a hundred times too high: the same validation set (the same seed and size).
        var collapsed = Distil(Teacher, Phased with { Method = "dmd", Steps = 1, Phases = 1, GeneratorLearningRate = 3e-2, IterationsPerPhase = 100 });
        var bad = ValidationRows(collapsed)[^1];
        output.WriteLine($"trained phased: swd {swd[^1]:F3} tv {tv[^1]:F3}; collapsed dmd: swd {bad["val_swd"]:F3} tv {bad["val_weight_tv"]:F3}");
        Assert.True(bad["val_swd"] >= 3 * swd[^1], $"collapsed {bad["val_swd"]:F3} against trained {swd[^1]:F3}");
        Assert.True(bad["val_weight_tv"] > tv[^1], "the exact measure agrees that the collapsed student is worse");

        // Phase 1's boundary distance is phase 1's expert alone: frozen from the end of phase 1 on, to the last bit.
        var end1 = rows.Single(r => r["phase"] == 1 && r["iteration"] == 200)["val_swd_b1"];
        Assert.All(rows.Where(r => r["phase"] == 2), r => Assert.Equal(end1, r["val_swd_b1"]));
        Assert.True(rows.Where(r => r["phase"] == 1).Select(r => r["val_swd_b1"]).Distinct().Count() > 2, "phase 1's boundary distance moves while phase 1 trains");
        Assert.True(File.Exists(Path.Combine(phased, RunCurves.DefaultFile)));
    }

    [Fact]
    public void Validating_never_changes_what_is_trained_and_a_resumed_run_reuses_its_reference_and_the_cache_gives_the_same_values()
    {
        var config = Phased with { IterationsPerPhase = 30, BatchSize = 64, ValidateEvery = 10, ValidationSamples = 256, CheckpointEvery = 15, KeepBest = true };
        var plain = Distil(Teacher, config with { ValidateEvery = 0, KeepBest = false });
        var full = Distil(Teacher, config);
        TestUtil.AssertSameWeights(plain, full);
        Assert.Equal(File.ReadAllBytes(Path.Combine(plain, ModelDirectory.WeightsFile)), File.ReadAllBytes(Path.Combine(full, ModelDirectory.WeightsFile)));

        // The best student of the last phase is kept, with its record; its distance is the lowest of the last phase's rows.
        var lastPhase = ValidationRows(full).Where(r => r["phase"] == 2 && r["iteration"] > 0).ToList();
        var best = Json.Read<ValidationMonitor.BestInfo>(Path.Combine(full, ValidationMonitor.BestFolder, ValidationMonitor.BestFile), "best");
        Assert.Equal(lastPhase.Min(r => r["val_swd"]), best.ValSwd, 5);
        Assert.Equal(2, best.Phase);
        using (var model = PhasedDmd.Sampling.LoadedModel.Load(Path.Combine(full, ValidationMonitor.BestFolder))) Assert.NotNull(model.Student);

        // Interrupted after update 45 (checkpoint at 45), then resumed: the reference file is not rewritten and the log equals the whole run's.
        var dir = Path.Combine(TestUtil.TempDir(), "student");
        using (var cancel = new CancellationTokenSource())
            Assert.Throws<OperationCanceledException>(() => Distil(Teacher, config, new RunOptions(Cancel: cancel.Token, Observers: [new CancelAt(45, cancel)]), dir));
        var reference = Path.Combine(dir, ValidationMonitor.Folder, ValidationMonitor.ReferenceFile);
        var written = File.GetLastWriteTimeUtc(reference);
        // The second run of this teacher, seed and size took the teacher's samples from the cache the first one filled.
        var info = Path.Combine(ValidationMonitor.Folder, ValidationMonitor.ReferenceInfoFile);
        Assert.False(Json.Read<ValidationMonitor.ReferenceInfo>(Path.Combine(full, info), "info").Cached);
        Assert.True(Json.Read<ValidationMonitor.ReferenceInfo>(Path.Combine(dir, info), "info").Cached);
        Distil(Teacher, config, new RunOptions(Resume: true), dir);
        Assert.Equal(written, File.GetLastWriteTimeUtc(reference));
        TestUtil.AssertSameWeights(full, dir);
        var expected = ValidationRows(full).Select(r => (r["step"], r["val_swd"], r["val_swd_b1"])).ToList();
        Assert.Equal(expected, ValidationRows(dir).Select(r => (r["step"], r["val_swd"], r["val_swd_b1"])).ToList());
    }

    [Fact]
    public void The_log_widens_for_new_columns_and_plot_draws_a_teacher_run_and_refuses_a_folder_without_a_log()
    {
        var dir = TestUtil.TempDir();
        using (var log = new TrainingLog(dir, tensorBoard: false))
        {
            log.Write(1, [("loss", 1.0), ("lr", 0.1)]);
            log.Write(2, [("loss", 0.5), ("val_swd", 0.25)]);
            log.Flush();
        }
        var lines = File.ReadAllLines(Path.Combine(dir, ModelDirectory.LogFile));
        Assert.Equal(["step,loss,lr,val_swd", "1,1,0.1,", "2,0.5,,0.25"], lines);

        Assert.Equal(3, RunCurves.Save(Path.Combine(dir, ModelDirectory.LogFile), Path.Combine(dir, "c.png")));   // losses, validation, lr
        var (code, err) = TestUtil.RunCli("plot", dir);
        Assert.Equal(0, code);
        Assert.True(File.Exists(Path.Combine(dir, RunCurves.DefaultFile)), err);
        var empty = TestUtil.TempDir();
        (code, err) = TestUtil.RunCli("plot", empty);
        Assert.Equal(2, code);
        Assert.Contains("no training log", err);
    }

    /// <summary>Spearman's rank correlation (average ranks for ties).</summary>
    private static double Spearman(double[] a, double[] b)
    {
        static double[] Ranks(double[] v)
        {
            var order = v.Select((x, i) => (x, i)).OrderBy(p => p.x).ToArray();
            var ranks = new double[v.Length];
            for (var i = 0; i < order.Length;)
            {
                var j = i;
                while (j + 1 < order.Length && order[j + 1].x == order[i].x) j++;
                for (var k = i; k <= j; k++) ranks[order[k].i] = (i + j) / 2.0;
                i = j + 1;
            }
            return ranks;
        }
        var (ra, rb) = (Ranks(a), Ranks(b));
        double ma = ra.Average(), mb = rb.Average();
        var cov = ra.Zip(rb).Sum(p => (p.First - ma) * (p.Second - mb));
        return cov / Math.Sqrt(ra.Sum(x => (x - ma) * (x - ma)) * rb.Sum(x => (x - mb) * (x - mb)));
    }
}
