using System.Globalization;
using System.Text;
using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Plotting;
using PhasedDmd.Sampling;
using PhasedDmd.Training;

namespace PhasedDmd.Experiments;

/// <summary>
/// <c>compare</c> on a teacher of a class-conditional image task on real data (<see cref="IClassImageTask"/>, e.g. fashion-mnist):
/// the rows of <see cref="PromptGridComparison.StandardEntries"/> (teacher, dmd, sgts, phased with 2 and 4 phases, the same number
/// of generator updates each), several seeds each, every model sampled on the class grid with a different noise seed per
/// distillation seed and measured against the test images (<see cref="ClassImageEvaluation"/>). The first row is the data's own
/// level (real training images); seed 0 of every row leaves a grid picture, <c>NAME.png</c>.
/// </summary>
public static class ClassImageComparison
{
    public static readonly string[] Keys =
        ["frechet_distance", "class_accuracy", "precision", "recall", "intra_class_cosine", "intra_class_perceptual", "seconds"];

    public const string DataRow = "real train images";

    public static List<ComparisonRow> Run(string teacherDir, ComparisonSettings settings, string outDir, int? perClass = null,
                                          Action<JobProgress>? progress = null, Action<string>? warn = null)
    {
        var card = ModelDirectory.ReadCard(teacherDir);
        var task = TaskRegistry.Find<IClassImageTask>(card.Task.Name, "class-grid evaluation");
        using var evaluation = ClassImageEvaluation.Standard(task, perClass);
        var data = Flatten(evaluation.MeasureRealData(seed: 0));
        data["seconds"] = double.NaN;
        var dataRow = new ComparisonRow(DataRow, 1, data, Keys.ToDictionary(k => k, _ => 0.0));
        var rows = MethodComparison.RunTable(teacherDir, settings, outDir, PromptGridComparison.StandardEntries(settings, settings.Base), Keys, (modelDir, name, seed, dir) =>
        {
            using var model = LoadedModel.Load(modelDir, Runtime.ResolveDevice(settings.Base.Device));
            using var grid = evaluation.Sample(model, new SampleOptions(Seed: 10_000 + 1000 * seed, Device: settings.Base.Device));
            var metrics = evaluation.Measure(grid);
            Json.WriteMetrics(Path.Combine(dir, "metrics.json"), metrics);
            if (seed == 0)
            {
                var shown = Math.Min(8, evaluation.PerClass);
                using var top = grid[..(shown * task.ClassNames.Count)];
                ImageGrid.Save(Path.Combine(outDir, $"{name}.png"), top, shown, task.ClassNames.Count, task.ClassNames, zoom: 3);
            }
            return Flatten(metrics);
        }, rows => Markdown(task, [dataRow, .. rows]), progress, warn, $"class grid, {evaluation.PerClass} per class");
        return [dataRow, .. rows];
    }

    private static Dictionary<string, double> Flatten(ClassImageMetrics m)
        => PromptGridEvaluation.Flatten(System.Text.Json.Nodes.JsonNode.Parse(Json.SerializeMetrics(m)));

    public static string Markdown(IClassImageTask task, IReadOnlyList<ComparisonRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"| {task.Name} | seeds | Fréchet ↓ | class accuracy ↑ | precision ↑ | recall ↑ | intra-class cosine ↓ | intra-class perceptual ↑ | train seconds |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
        string F(ComparisonRow r, string k, string fmt) => double.IsNaN(r.Mean[k]) ? "—"
            : r.Seeds == 1 ? r.Mean[k].ToString(fmt, CultureInfo.InvariantCulture)
            : $"{r.Mean[k].ToString(fmt, CultureInfo.InvariantCulture)} ± {r.Std[k].ToString(fmt, CultureInfo.InvariantCulture)}";
        foreach (var r in rows)
            sb.AppendLine($"| {r.Name} | {(r.Name == DataRow ? "—" : r.Seeds.ToString(CultureInfo.InvariantCulture))} | {F(r, "frechet_distance", "0.00")} | {F(r, "class_accuracy", "0.000")} | " +
                          $"{F(r, "precision", "0.000")} | {F(r, "recall", "0.000")} | {F(r, "intra_class_cosine", "0.000")} | {F(r, "intra_class_perceptual", "0.000")} | {F(r, "seconds", "0")} |");
        return sb.ToString();
    }
}
