using PhasedDmd.Data;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Reads a <c>glyphs</c> image back into attributes, using the task's own renderer as the
/// ground truth: every pixel is assigned to the nearest palette colour; the most frequent is the
/// background, the most frequent of the rest the foreground; then the foreground mask is matched
/// (intersection over union) against every character at every scale and position the task can
/// draw. <see cref="GlyphReading.Match"/> is the best IoU (1 = a perfect glyph). Exact on clean data.
/// </summary>
public static class GlyphReader
{
    private const int Size = GlyphsTask.Size;
    private static readonly string[] Palette = GlyphsTask.Colours.Keys.ToArray();

    /// <summary>Reads one image given as 3 × 16 × 16 channel-major values in [−1, 1].</summary>
    public static GlyphReading Read(ReadOnlySpan<float> pixels)
    {
        var nearest = new int[Size * Size];
        var counts = new int[Palette.Length];
        for (var p = 0; p < Size * Size; p++)
        {
            var best = 0;
            var bestDistance = double.MaxValue;
            for (var k = 0; k < Palette.Length; k++)
            {
                var (r, g, b) = GlyphsTask.Colours[Palette[k]];
                var d = Sq(pixels[p] - (2 * r - 1)) + Sq(pixels[Size * Size + p] - (2 * g - 1)) + Sq(pixels[2 * Size * Size + p] - (2 * b - 1));
                if (d < bestDistance) { bestDistance = d; best = k; }
            }
            nearest[p] = best;
            counts[best]++;
        }
        var background = Enumerable.Range(0, Palette.Length).MaxBy(k => counts[k]);
        var foreground = Enumerable.Range(0, Palette.Length).Where(k => k != background).MaxBy(k => counts[k]);
        var ink = nearest.Select(k => k == foreground).ToArray();
        var inkCount = ink.Count(v => v);

        (char C, int Scale, int Top, int Left, double Iou) bestMatch = (BitmapFont.Characters[0], 1, 0, 0, -1);
        foreach (var c in BitmapFont.Characters)
            foreach (var scale in GlyphsTask.Scales)
            {
                int h = BitmapFont.Height * scale, w = BitmapFont.Width * scale;
                var templateCount = 0;
                for (var r = 0; r < BitmapFont.Height; r++)
                    for (var col = 0; col < BitmapFont.Width; col++)
                        if (BitmapFont.Ink(c, r, col)) templateCount += scale * scale;
                for (var top = 0; top + h <= Size; top++)
                    for (var left = 0; left + w <= Size; left++)
                    {
                        var both = 0;
                        for (var y = 0; y < h; y++)
                            for (var x = 0; x < w; x++)
                                if (ink[(top + y) * Size + left + x] && BitmapFont.Ink(c, y / scale, x / scale)) both++;
                        var iou = both / (double)(inkCount + templateCount - both);
                        if (iou > bestMatch.Iou) bestMatch = (c, scale, top, left, iou);
                    }
            }
        return new GlyphReading(Palette[background], Palette[foreground], bestMatch.C, bestMatch.Scale, bestMatch.Top, bestMatch.Left, bestMatch.Iou);
    }

    /// <summary>Fractions of images whose character, both colours, and all three match the prompts' attributes.</summary>
    public static (double Character, double Colours, double All, double MeanMatch) Accuracy(float[] images, IReadOnlyList<(char C, string Fg, string Bg)> prompts)
    {
        var per = 3 * Size * Size;
        int character = 0, colours = 0, all = 0;
        double match = 0;
        for (var i = 0; i < prompts.Count; i++)
        {
            var r = Read(images.AsSpan(i * per, per));
            var okChar = r.Character == prompts[i].C;
            var okColours = r.Foreground == prompts[i].Fg && r.Background == prompts[i].Bg;
            character += okChar ? 1 : 0;
            colours += okColours ? 1 : 0;
            all += okChar && okColours ? 1 : 0;
            match += r.Match;
        }
        double n = prompts.Count;
        return (character / n, colours / n, all / n, match / n);
    }

    /// <summary>Parses a glyphs prompt "fg C on bg".</summary>
    public static (char C, string Fg, string Bg) ParsePrompt(string prompt)
    {
        var w = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (w.Length != 4 || w[2] != "on" || w[1].Length != 1) throw new InputException($"not a glyphs prompt: '{prompt}' (expected 'FG C on BG')");
        return (char.ToUpperInvariant(w[1][0]), w[0], w[3]);
    }

    private static double Sq(double v) => v * v;
}
