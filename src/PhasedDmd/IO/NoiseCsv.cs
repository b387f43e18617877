using System.Globalization;
using static TorchSharp.torch;

namespace PhasedDmd.IO;

/// <summary>
/// Starting noise as CSV: one flattened sample per row, comma-separated numbers (an optional first
/// row of column names is skipped). The same format <c>sample</c> writes its samples in, so both
/// sides of a comparison can start from identical noise.
/// </summary>
public static class NoiseCsv
{
    /// <summary>The rows of <paramref name="path"/> as a float32 tensor [N, <paramref name="sampleShape"/>].</summary>
    public static Tensor Read(string path, long[] sampleShape)
    {
        if (!File.Exists(path)) throw new InputException($"noise: file not found: {path}");
        var width = sampleShape.Aggregate(1L, (a, b) => a * b);
        var values = new List<float>();
        var lines = File.ReadAllLines(path);
        var rows = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            var parsed = cells.Select(c => float.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : (float?)null).ToArray();
            if (rows == 0 && values.Count == 0 && parsed.All(v => v is null)) continue;   // a header row
            if (parsed.Any(v => v is null))
                throw new InputException($"noise: {path} line {i + 1}: not a row of numbers");
            if (cells.Length != width)
                throw new InputException($"noise: {path} line {i + 1} has {cells.Length} values; the model's samples have {width} ([{string.Join(", ", sampleShape)}] flattened)");
            values.AddRange(parsed.Select(v => v!.Value));
            rows++;
        }
        if (rows == 0) throw new InputException($"noise: {path} has no rows");
        return tensor(values.ToArray()).reshape([rows, .. sampleShape]);
    }
}
