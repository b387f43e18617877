using System.Globalization;
using System.Text;
using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Sampling;
using PhasedDmd.Training;

namespace PhasedDmd.Experiments;

/// <summary>
/// <c>compare</c> on a text-conditioned teacher (glyphs, motion, motion-free): teacher, dmd, sgts, phased
/// with 2 and with 4 phases, several seeds each, every model evaluated on the task's prompt grid
/// (<see cref="PromptGridEvaluation"/>) with a different noise seed per distillation seed. Every method
/// makes the same number of generator updates (phased K=2: n per phase; K=4: n/2; dmd and sgts: 2n).
/// </summary>
public static class PromptGridComparison
{
    /// <summary>The measures the table reports per task (dotted keys of the evaluation's JSON), plus the wall time.</summary>
    public static string[] MetricKeys(string task) => task switch
    {
        "glyphs" => ["character_accuracy", "colour_accuracy", "distinct_layouts_per_prompt", "features.feature_cosine", "features.perceptual", "features.composition.spread_ratio", "seconds"],
        "motion" => ["shape_accuracy", "direction_accuracy", "mean_speed", "speed_spread_per_prompt", "mean_absolute_flow", "dynamic_degree", "features.perceptual", "features.composition.spread_ratio", "seconds"],
        _ => ["mean_absolute_flow", "dynamic_degree", "motion_diversity", "motion_diversity_ratio", "direction_tv", "still_share", "mean_speed", "shape_accuracy", "axis_accuracy", "seconds"],
    };

    public static List<ComparisonEntry> StandardEntries(ComparisonSettings s, DistillConfig baseConfig)
    {
        var n = s.IterationsPerPhase;
        var phased = DistillationMethod.Phased.Shape(baseConfig, s.Steps, 2) with { IterationsPerPhase = n };
        return
        [
            new("teacher", null),
            new("dmd", DistillationMethod.Dmd.Shape(baseConfig) with { IterationsPerPhase = 2 * n }),
            new("sgts", DistillationMethod.Sgts.Shape(baseConfig, s.Steps) with { IterationsPerPhase = 2 * n }),
            new("phased", phased),
            new("phased-K4", phased with { Phases = 4, IterationsPerPhase = Math.Max(1, n / 2) }),
        ];
    }

    public static List<ComparisonRow> Run(string teacherDir, ComparisonSettings settings, string outDir, Action<JobProgress>? progress = null, Action<string>? warn = null)
    {
        var card = ModelDirectory.ReadCard(teacherDir);
        var task = card.Task.Name;
        var entries = StandardEntries(settings, settings.Base);
        using var evaluation = new PromptGridEvaluation(task, PromptGridEvaluation.EvaluationPrompts(task), ProceduralTasks.Resolve(task).EvaluationSeeds, EncoderTraining.Shipped(task));
        return MethodComparison.RunTable(teacherDir, settings, outDir, entries, MetricKeys(task), (modelDir, _, seed, dir) =>
        {
            using var model = LoadedModel.Load(modelDir, Runtime.ResolveDevice(settings.Base.Device));
            using var grid = evaluation.Sample(model, new SampleOptions(Seed: 10_000 + 1000 * seed, Device: settings.Base.Device));
            var measures = evaluation.Measure(grid, seed);
            AtomicFile.WriteAllText(Path.Combine(dir, "metrics.json"), measures.ToJsonString(Json.MetricsOptions));
            return PromptGridEvaluation.Flatten(measures);
        }, rows => Markdown(task, rows), progress, warn);
    }

    public static string Markdown(string task, IReadOnlyList<ComparisonRow> rows)
    {
        var keys = MetricKeys(task);
        var sb = new StringBuilder();
        sb.AppendLine($"| {task} | seeds | " + string.Join(" | ", keys.Select(k => k.Replace("features.", "").Replace('_', ' '))) + " |");
        sb.AppendLine("|---|---|" + string.Concat(keys.Select(_ => "---|")));
        foreach (var r in rows)
            sb.AppendLine($"| {r.Name} | {r.Seeds} | " + string.Join(" | ", keys.Select(k => double.IsNaN(r.Mean[k]) ? "—"
                : k == "seconds" ? $"{r.Mean[k].ToString("0", CultureInfo.InvariantCulture)} ± {r.Std[k].ToString("0", CultureInfo.InvariantCulture)}"
                : $"{r.Mean[k].ToString("0.000", CultureInfo.InvariantCulture)} ± {r.Std[k].ToString("0.000", CultureInfo.InvariantCulture)}")) + " |");
        return sb.ToString();
    }
}
