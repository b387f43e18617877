using System.Globalization;
using TorchSharp;

namespace PhasedDmd.Training;

/// <summary>
/// A training log: one CSV row per logged iteration and the same scalars as TensorBoard events under <c>tb/</c>.
/// The columns are those of the first row; a row with a new key (validation rows add theirs later) widens the file,
/// earlier rows leaving the new columns empty.
/// </summary>
public sealed class TrainingLog : ITrainingObserver, IDisposable
{
    private readonly string _path;
    private StreamWriter _csv;
    private readonly TorchSharp.Modules.SummaryWriter? _tb;
    private string[]? _columns;

    public TrainingLog(string dir, string csvName = "train_log.csv", bool tensorBoard = true, bool append = false)
    {
        Directory.CreateDirectory(dir);
        var path = _path = Path.Combine(dir, csvName);
        if (append && File.Exists(path))
        {
            var header = File.ReadLines(path).FirstOrDefault();
            if (!string.IsNullOrEmpty(header)) _columns = header.Split(',');
        }
        _csv = new StreamWriter(path, append) { AutoFlush = false };
        if (tensorBoard) _tb = torch.utils.tensorboard.SummaryWriter(Path.Combine(dir, "tb"), createRunName: false);
    }

    /// <summary>Writes one row; <paramref name="values"/> keeps its key order as the CSV columns.</summary>
    public void Write(long step, IReadOnlyList<(string Key, double Value)> values, string? prefix = null)
    {
        if (_columns is null)
        {
            _columns = ["step", .. values.Select(v => v.Key)];
            _csv.WriteLine(string.Join(',', _columns));
        }
        else if (values.Select(v => v.Key).Except(_columns).ToArray() is { Length: > 0 } added) Widen(added);
        var map = values.ToDictionary(v => v.Key, v => v.Value);
        _csv.WriteLine(string.Join(',', _columns.Select(c => c == "step"
            ? step.ToString(CultureInfo.InvariantCulture)
            : map.TryGetValue(c, out var v) ? v.ToString("G6", CultureInfo.InvariantCulture) : "")));
        if (_tb is not null)
            foreach (var (key, value) in values)
                if (double.IsFinite(value)) _tb.add_scalar(prefix is null ? key : $"{prefix}/{key}", (float)value, (int)step);
    }

    /// <summary>Writes the logged updates of a training loop.</summary>
    public void Updated(UpdateReport report)
    {
        if (report.Logged is { } values) Write(report.Done, values);
    }

    public void Flush() => _csv.Flush();

    /// <summary>Rewrites the file (atomically) with <paramref name="added"/> columns at the end, empty in the rows so far.</summary>
    private void Widen(string[] added)
    {
        _csv.Dispose();
        var lines = File.ReadAllLines(_path);
        _columns = [.. _columns!, .. added];
        var padding = new string(',', added.Length);
        IO.AtomicFile.WriteAllText(_path, string.Join('\n', [string.Join(',', _columns), .. lines.Skip(1).Select(l => l + padding)]) + "\n");
        _csv = new StreamWriter(_path, append: true) { AutoFlush = false };
    }

    /// <summary>Drops the rows logged after <paramref name="step"/> (used when resuming from a checkpoint).</summary>
    public static void TruncateAfter(string csvPath, long step)
    {
        if (!File.Exists(csvPath)) return;
        var lines = File.ReadAllLines(csvPath);
        if (lines.Length == 0) return;
        var kept = lines.Take(1).Concat(lines.Skip(1).Where(l =>
            long.TryParse(l.Split(',')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) && s <= step));
        IO.AtomicFile.WriteAllText(csvPath, string.Join('\n', kept) + "\n");
    }

    public void Dispose()
    {
        _csv.Dispose();
    }
}
