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
/// <c>compare</c> on a text-conditioned teacher (<see cref="IPromptGridTask"/>): teacher, dmd, sgts, phased
/// with 2 and with 4 phases, several seeds each, every model evaluated on the task's prompt grid
/// (<see cref="PromptGridEvaluation"/>) with a different noise seed per distillation seed. Every method
/// makes the same number of generator updates (phased K=2: n per phase; K=4: n/2; dmd and sgts: 2n).
/// </summary>
public static class PromptGridComparison
{
    public static List<ComparisonEntry> StandardEntries(ComparisonSettings s, DistillConfig baseConfig)
    {
        var budget = 2 * s.IterationsPerPhase;   // the updates of a two-phase student
        return
        [
            new("teacher", null),
            new("dmd", DistillationMethod.Dmd.AtBudget(baseConfig, budget)),
            new("sgts", DistillationMethod.Sgts.AtBudget(baseConfig, budget, s.Steps)),
            new("phased", DistillationMethod.Phased.AtBudget(baseConfig, budget, s.Steps, 2)),
            new("phased-K4", DistillationMethod.Phased.AtBudget(baseConfig, budget, s.Steps, 4)),
        ];
    }

    public static List<ComparisonRow> Run(string teacherDir, ComparisonSettings settings, string outDir, Action<JobProgress>? progress = null, Action<string>? warn = null)
    {
        var card = ModelDirectory.ReadCard(teacherDir);
        var task = TaskRegistry.Find<IPromptGridTask>(card.Task.Name, "prompt-grid evaluation");
        var entries = StandardEntries(settings, settings.Base);
        using var evaluation = PromptGridEvaluation.Standard(task);
        return MethodComparison.RunTable(teacherDir, settings, outDir, entries, task.CompareKeys, (modelDir, _, seed, dir) =>
        {
            using var model = LoadedModel.Load(modelDir, Runtime.ResolveDevice(settings.Base.Device));
            using var grid = evaluation.Sample(model, new SampleOptions(Seed: 10_000 + 1000 * seed, Device: settings.Base.Device));
            var measures = evaluation.Measure(grid, seed);
            AtomicFile.WriteAllText(Path.Combine(dir, "metrics.json"), measures.ToJsonString(Json.MetricsOptions));
            return PromptGridEvaluation.Flatten(measures);
        }, rows => Markdown(task, rows), progress, warn, $"prompt grid of {task.Name}");
    }

    public static string Markdown(IPromptGridTask task, IReadOnlyList<ComparisonRow> rows)
    {
        var keys = task.CompareKeys;
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
