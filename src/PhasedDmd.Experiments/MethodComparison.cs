using System.Globalization;
using System.Text;
using PhasedDmd.Distillation;
using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Plotting;
using PhasedDmd.Sampling;
using PhasedDmd.Training;

namespace PhasedDmd.Experiments;

/// <summary>
/// The ring8 / grid9 table of the engine issue: teacher, dmd, fewstep, sgts, phased,
/// phased + naive fake objective, phased + disjoint intervals; several seeds each, evaluated
/// against the exact mixture with the same sample seeds.
/// </summary>
public static class MethodComparison
{
    public static readonly string[] MetricKeys = ["mode_coverage", "weight_tv", "off_mode_fraction", "mmd", "seconds"];

    public static List<ComparisonEntry> StandardEntries(ComparisonSettings s)
    {
        var budget = 2 * s.IterationsPerPhase;   // the updates of a two-phase student
        var phased = DistillationMethod.Phased.AtBudget(s.Base, budget, s.Steps, 2);
        return
        [
            new("teacher", null),
            new("dmd", DistillationMethod.Dmd.AtBudget(s.Base, budget)),
            new("fewstep", DistillationMethod.FewStep.AtBudget(s.Base, budget, s.Steps)),
            new("sgts", DistillationMethod.Sgts.AtBudget(s.Base, budget, s.Steps)),
            new("phased", phased),
            new("phased+naive", phased with { FakeObjective = Objectives.Naive.Name }),
            new("phased+disjoint", phased with { Interval = IntervalKind.Disjoint }),
            new("phased+full-phase-backprop", phased with { Truncation = Truncation.Full }),
        ];
    }

    public static List<ComparisonRow> Run(string teacherDir, ComparisonSettings settings, string outDir, IReadOnlyList<ComparisonEntry>? entries = null,
                                          Action<JobProgress>? progress = null, Action<string>? warn = null)
    {
        entries ??= StandardEntries(settings);
        var mixture = settings.MixtureFile is { } file ? Data.GaussianMixture.Load(file)
                      : ModelDirectory.ReadCard(teacherDir).Task.Mixture
                        ?? throw new InputException($"teacher: task '{ModelDirectory.ReadCard(teacherDir).Task.Name}' has no exact distribution to compare with; give one with --mixture FILE");
        return RunTable(teacherDir, settings, outDir, entries, MetricKeys, (modelDir, name, seed, dir) =>
        {
            using var model = LoadedModel.Load(modelDir);
            using var samples = ModelSampling.Sample(model, new SampleOptions(N: settings.EvalSamples, Seed: 10_000 + seed));
            var m = MixtureMetrics.Evaluate(mixture, samples, seed);
            Json.WriteMetrics(Path.Combine(dir, "metrics.json"), m);
            if (seed == 0)
                Plots.MixtureSamples(Path.Combine(outDir, $"{name}.png"), mixture, TensorExport.ToMatrix(samples),
                    $"{model.Card.Task.Name} {name}: TV {m.WeightTv:F3}, off-mode {m.OffModeFraction:F3}");
            return new Dictionary<string, double>
            {
                ["mode_coverage"] = m.ModeCoverage, ["weight_tv"] = m.WeightTv, ["off_mode_fraction"] = m.OffModeFraction, ["mmd"] = m.Mmd,
            };
        }, Markdown, progress, warn, $"mixture {Json.Serialize(mixture)}, {settings.EvalSamples} samples");
    }

    /// <summary>A seed's measures as the table reads them, with the key of what was measured (so a restart reuses them only when nothing changed).</summary>
    public const string MeasuresFile = "measures.json";

    private sealed record SavedMeasures(string Key, Dictionary<string, double> Measures);

    /// <summary>
    /// The loop every comparison table shares: for each entry and seed, distil (restartably; the
    /// teacher is its own row), measure the model with <paramref name="measure"/> (model directory,
    /// entry name, seed, the seed's folder), add the wall time as <c>seconds</c>, and after each entry
    /// write <c>compare.json</c> and <c>compare.md</c> with mean and sd over the seeds of <paramref name="keys"/>.
    /// A restarted table reuses a seed's measures (<see cref="MeasuresFile"/>) when the teacher's card, the seed's config, the
    /// model's card file (rewritten when the model is) and <paramref name="measureKey"/> (what the caller's measure depends on)
    /// are unchanged: a teacher sampled with 40 guided steps is not measured again.
    /// </summary>
    internal static List<ComparisonRow> RunTable(string teacherDir, ComparisonSettings settings, string outDir, IReadOnlyList<ComparisonEntry> entries,
        IReadOnlyList<string> keys, Func<string, string, int, string, Dictionary<string, double>> measure, Func<IReadOnlyList<ComparisonRow>, string> markdown,
        Action<JobProgress>? progress, Action<string>? warn, string measureKey = "")
    {
        var teacherCard = File.ReadAllText(Path.Combine(teacherDir, ModelDirectory.CardFile));
        Directory.CreateDirectory(outDir);
        Json.Write(Path.Combine(outDir, "compare_settings.json"), new { settings, entries });
        var rows = new List<ComparisonRow>();
        var total = entries.Count * settings.Seeds;
        var done = 0;
        foreach (var entry in entries)
        {
            var perSeed = new List<Dictionary<string, double>>();
            for (var seed = 0; seed < settings.Seeds; seed++)
            {
                progress?.Invoke(new JobProgress(done, total, $"{entry.Name} seed {seed}"));
                var dir = Path.Combine(outDir, entry.Name, $"seed{seed}");
                var seconds = double.NaN;
                var modelDir = teacherDir;
                if (entry.Config is not null)
                {
                    seconds = Distil(teacherDir, entry.Config with { Seed = seed }, dir, warn);
                    modelDir = dir;
                }
                Directory.CreateDirectory(dir);
                var key = RunState.Hash(new
                {
                    measureKey, teacherCard, Config = entry.Config is null ? null : entry.Config with { Seed = seed },
                    Model = File.GetLastWriteTimeUtc(Path.Combine(modelDir, ModelDirectory.CardFile)).Ticks,   // a retrained model is measured again
                });
                var saved = Path.Combine(dir, MeasuresFile);
                Dictionary<string, double> measured;
                if (ReadSaved(saved) is { } s && s.Key == key)
                    measured = s.Measures;
                else
                {
                    measured = measure(modelDir, entry.Name, seed, dir);
                    measured["seconds"] = seconds;
                    Json.Write(saved, new SavedMeasures(key, measured));
                }
                perSeed.Add(keys.ToDictionary(k => k, k => measured.GetValueOrDefault(k, double.NaN)));
                done++;
            }
            rows.Add(new ComparisonRow(entry.Name, settings.Seeds,
                keys.ToDictionary(k => k, k => perSeed.Average(d => d[k])),
                keys.ToDictionary(k => k, k => Std([.. perSeed.Select(d => d[k])]))));
            Json.WriteMetrics(Path.Combine(outDir, "compare.json"), rows);
            AtomicFile.WriteAllText(Path.Combine(outDir, "compare.md"), markdown(rows));
        }
        return rows;
    }

    /// <summary>A seed's saved measures; null when there are none or the file is damaged (then the model is measured again).</summary>
    private static SavedMeasures? ReadSaved(string path)
    {
        if (!File.Exists(path)) return null;
        try { return Json.Read<SavedMeasures>(path, "saved measures"); }
        catch (InputException) { return null; }
    }

    /// <summary>
    /// One distillation of the table, restartable: a finished student with the same config is
    /// reused, an interrupted one resumes from its last checkpoint, and a run that fails
    /// unexpectedly (e.g. a native error) resumes once from its last checkpoint — exactly, so
    /// the result is the one an uninterrupted run gives. Returns the training wall time.
    /// </summary>
    public static double Distil(string teacherDir, DistillConfig config, string dir, Action<string>? warn, Action<JobProgress>? progress = null)
    {
        if (RunDirectory.Finished(dir, config) is { } finished) return finished.WallSeconds;
        var sameConfig = RunDirectory.SameConfig(dir, config);
        if (File.Exists(Path.Combine(dir, ModelDirectory.RunConfigFile)) && !sameConfig)
            throw new InputException($"{dir} holds an interrupted run with a different config; use a new --out");
        var resume = sameConfig && RunDirectory.HasCheckpoint(dir);
        var card = ModelDirectory.ReadTeacherCard(teacherDir);
        for (var attempt = 0; ; attempt++)
        {
            using (var teacher = ModelDirectory.Load(teacherDir).Model)
            {
                try
                {
                    var observers = progress is null ? null : new ITrainingObserver[] { new ProgressObserver(progress) };
                    new Distiller(config, card, teacher).Run(dir, new RunOptions(resume, Warn: warn, Observers: observers));
                    return RunDirectory.Finished(dir, config)!.WallSeconds;
                }
                catch (Exception e) when (attempt == 0 && e is not (InputException or DivergenceException or OperationCanceledException)
                                          && RunDirectory.HasCheckpoint(dir))
                {
                    warn?.Invoke($"{dir}: {e.GetType().Name}: {ModelDirectory.FirstLine(e.Message)}; resuming from the last checkpoint");
                    resume = true;
                }
            }
        }
    }

    public static string Markdown(IReadOnlyList<ComparisonRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| method | seeds | mode coverage | weight TV | off-mode | MMD² | wall time (s) |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        string F(ComparisonRow r, string k, string fmt) => double.IsNaN(r.Mean[k]) ? "—"
            : $"{r.Mean[k].ToString(fmt, CultureInfo.InvariantCulture)} ± {r.Std[k].ToString(fmt, CultureInfo.InvariantCulture)}";
        foreach (var r in rows)
            sb.AppendLine($"| {r.Name} | {r.Seeds} | {F(r, "mode_coverage", "0.000")} | {F(r, "weight_tv", "0.000")} | {F(r, "off_mode_fraction", "0.000")} | {F(r, "mmd", "0.0000")} | {F(r, "seconds", "0")} |");
        return sb.ToString();
    }

    private static double Std(double[] v)
    {
        if (v.Length < 2 || v.Any(double.IsNaN)) return v.Any(double.IsNaN) ? double.NaN : 0;
        var m = v.Average();
        return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
    }
}
