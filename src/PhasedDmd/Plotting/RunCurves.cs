using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace PhasedDmd.Plotting;

/// <summary>
/// The curves of a training run (its <c>train_log.csv</c>) as one PNG of stacked panels against the update count: the
/// losses, the generator's gradient norm, the validation distances to the teacher (<c>val_swd</c> and one line per phase
/// boundary), the feature-space Fréchet distance, the exact mode-weight TV and the learning rate — each panel where the log
/// has its columns. Dashed lines mark where a phase starts. Works for teacher training and distillation alike.
/// </summary>
public static class RunCurves
{
    public const string DefaultFile = "curves.png";

    private sealed record Panel(string Title, Func<string, bool> Takes, bool Markers = false);

    private static readonly Panel[] Panels =
    [
        new("losses", c => c.EndsWith("loss", StringComparison.Ordinal)),
        new("generator gradient norm", c => c == "grad_norm"),
        new("validation: sliced W2 to the teacher (b = at a phase boundary)", c => c.StartsWith("val_swd", StringComparison.Ordinal), Markers: true),
        new("validation: Fréchet distance in feature space", c => c == "val_fd", Markers: true),
        new("validation: exact mode-weight TV", c => c == "val_weight_tv", Markers: true),
        new("learning rate", c => c == "lr"),
    ];

    /// <summary>Draws the log of a finished run in <paramref name="runDir"/> to <c>curves.png</c> beside it; a run too short to have logged a row has none.</summary>
    public static void SaveFor(string runDir)
    {
        var log = Path.Combine(runDir, IO.ModelDirectory.LogFile);
        if (File.Exists(log) && File.ReadLines(log).Skip(1).Any()) Save(log, Path.Combine(runDir, DefaultFile));
    }

    /// <summary>Reads <paramref name="csvPath"/> and writes the figure to <paramref name="pngPath"/>; returns how many panels it drew.</summary>
    public static int Save(string csvPath, string pngPath, string? title = null, int width = 900, int panelHeight = 280)
    {
        if (!File.Exists(csvPath)) throw new InputException($"no training log at {csvPath}");
        var (columns, rows) = Read(csvPath);
        if (rows.Count == 0) throw new InputException($"{csvPath} has no logged rows yet");
        var step = Array.IndexOf(columns, "step");
        if (step < 0) throw new InputException($"{csvPath} has no 'step' column");
        var xs = rows.Select(r => r[step]).ToArray();
        var phaseStarts = PhaseStarts(columns, rows, step);

        var images = new List<byte[]>();
        foreach (var panel in Panels)
        {
            var series = columns.Select((c, i) => (c, i)).Where(ci => panel.Takes(ci.c)).ToList();
            var plot = new Plot();
            var drawn = 0;
            foreach (var (name, i) in series)
            {
                var points = rows.Select((r, n) => (X: xs[n], Y: r[i])).Where(p => double.IsFinite(p.Y)).ToArray();
                if (points.Length == 0) continue;
                var line = plot.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
                line.LegendText = name;
                line.MarkerSize = panel.Markers ? 5 : 0;
                line.LineWidth = panel.Markers ? 1.5f : 1;
                drawn++;
            }
            if (drawn == 0) continue;
            foreach (var x in phaseStarts)
            {
                var v = plot.Add.VerticalLine(x);
                v.LinePattern = LinePattern.Dashed;
                v.Color = Colors.Gray;
            }
            plot.Title(images.Count == 0 && title is not null ? $"{title}: {panel.Title}" : panel.Title);
            plot.XLabel("update");
            if (drawn > 1) plot.ShowLegend(Alignment.UpperRight);
            images.Add(plot.GetImageBytes(width, panelHeight, ImageFormat.Png));
        }
        if (images.Count == 0) throw new InputException($"{csvPath} has none of the columns a panel draws (losses, grad_norm, val_*, lr)");

        using var figure = new SKBitmap(width, panelHeight * images.Count);
        using (var canvas = new SKCanvas(figure))
        {
            canvas.Clear(SKColors.White);
            for (var i = 0; i < images.Count; i++)
            {
                using var panel = SKBitmap.Decode(images[i]);
                canvas.DrawBitmap(panel, 0, i * panelHeight);
            }
        }
        IO.AtomicFile.Write(pngPath, temp =>
        {
            using var stream = File.Create(temp);
            figure.Encode(stream, SKEncodedImageFormat.Png, 100);
        });
        return images.Count;
    }

    /// <summary>The header and the rows as numbers (an empty or unreadable cell is NaN).</summary>
    private static (string[] Columns, List<double[]> Rows) Read(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        if (lines.Length == 0) return ([], []);
        var columns = lines[0].Split(',');
        var step = Math.Max(0, Array.IndexOf(columns, "step"));
        var rows = lines.Skip(1).Select(l =>
        {
            var cells = l.Split(',');
            return columns.Select((_, i) => i < cells.Length && double.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN).ToArray();
        }).Where(r => double.IsFinite(r[step])).ToList();   // a row still being written has no step yet
        return (columns, rows);
    }

    /// <summary>The steps where the phase column changes (the first row's phase is not marked).</summary>
    private static List<double> PhaseStarts(string[] columns, List<double[]> rows, int step)
    {
        var phase = Array.IndexOf(columns, "phase");
        var starts = new List<double>();
        if (phase < 0) return starts;
        for (var i = 1; i < rows.Count; i++)
            if (double.IsFinite(rows[i][phase]) && double.IsFinite(rows[i - 1][phase]) && rows[i][phase] != rows[i - 1][phase])
                starts.Add(rows[i - 1][step]);
        return starts;
    }
}
