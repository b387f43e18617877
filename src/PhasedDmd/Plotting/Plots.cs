using PhasedDmd.Data;
using ScottPlot;

namespace PhasedDmd.Plotting;

/// <summary>PNG figures (ScottPlot, headless).</summary>
public static class Plots
{
    /// <summary>
    /// A scatter of 2-D samples (the first two coordinates) without a reference distribution; with
    /// <paramref name="groups"/>, consecutive equal shares of the rows in their own colour and legend entry.
    /// </summary>
    public static void Points(string path, float[,] samples, string title, IReadOnlyList<string>? groups = null, int width = 640, int height = 640)
    {
        var plot = new Plot();
        plot.Title(title);
        var n = samples.GetLength(0);
        var names = groups is { Count: > 0 } ? groups : ["samples"];
        var per = n / names.Count;
        var palette = new ScottPlot.Palettes.Category10();
        for (var g = 0; g < names.Count; g++)
        {
            var rows = Enumerable.Range(g * per, g == names.Count - 1 ? n - g * per : per).ToArray();
            var points = plot.Add.ScatterPoints(rows.Select(i => (double)samples[i, 0]).ToArray(), rows.Select(i => (double)samples[i, 1]).ToArray());
            points.MarkerSize = 2;
            points.Color = palette.GetColor(g).WithAlpha(0.6);
            points.LegendText = names[g];
        }
        if (names.Count > 1) plot.ShowLegend();
        plot.Axes.SquareUnits();
        plot.SavePng(path, width, height);
    }

    /// <summary>
    /// Samples against the exact mixture: 2D → a scatter with mode centres and 3-std circles;
    /// 1D → a histogram of samples with the exact density overlaid.
    /// </summary>
    public static void MixtureSamples(string path, GaussianMixture mixture, float[,] samples, string title, int width = 640, int height = 640)
    {
        var plot = new Plot();
        plot.Title(title);
        var n = samples.GetLength(0);
        if (mixture.Dim == 1)
        {
            var values = Enumerable.Range(0, n).Select(i => (double)samples[i, 0]).Where(double.IsFinite).ToArray();
            var lo = mixture.Means.Min(m => m[0]) - 1.0;
            var hi = mixture.Means.Max(m => m[0]) + 1.0;
            var hist = ScottPlot.Statistics.Histogram.WithBinCount(200, lo, hi);
            hist.AddRange(values);
            var bars = plot.Add.Bars(hist.Bins, hist.GetProbability());
            foreach (var b in bars.Bars) { b.Size = hist.FirstBinSize * 0.9; b.LineWidth = 0; b.FillColor = Colors.SteelBlue; }
            var xs = Enumerable.Range(0, 800).Select(i => lo + (hi - lo) * i / 799.0).ToArray();
            using var xt = TorchSharp.torch.tensor(xs, dtype: TorchSharp.torch.ScalarType.Float64).reshape(-1, 1);
            using var logp = mixture.LogDensity(xt, 0.0);
            var density = logp.exp().data<double>().Select(d => d * hist.FirstBinSize).ToArray();
            var line = plot.Add.ScatterLine(xs, density);
            line.Color = Colors.OrangeRed;
            line.LegendText = "exact (per bin)";
            plot.XLabel("x");
            plot.YLabel("fraction of samples");
        }
        else
        {
            var xs = new double[n];
            var ys = new double[n];
            for (var i = 0; i < n; i++) { xs[i] = samples[i, 0]; ys[i] = samples[i, 1]; }
            var points = plot.Add.ScatterPoints(xs, ys);
            points.MarkerSize = 2;
            points.Color = Colors.SteelBlue.WithAlpha(0.5);
            points.LegendText = "samples";
            for (var k = 0; k < mixture.Count; k++)
            {
                var c = plot.Add.Circle(mixture.Means[k][0], mixture.Means[k][1], 3 * mixture.Stds[k] * Math.Sqrt(mixture.Dim));
                c.LineColor = Colors.OrangeRed;
                c.FillColor = Colors.Transparent;
                var label = plot.Add.Text($"{mixture.Weights[k]:0.###}", mixture.Means[k][0], mixture.Means[k][1]);
                label.LabelFontSize = 10;
                label.LabelFontColor = Colors.DarkRed;
            }
            var extent = mixture.Means.Max(m => Math.Max(Math.Abs(m[0]), Math.Abs(m[1]))) + 1.5;
            plot.Axes.SetLimits(-extent, extent, -extent, extent);
            plot.Axes.SquareUnits();
        }
        plot.SavePng(path, width, height);
    }
}
