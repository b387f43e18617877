using SkiaSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Plotting;

/// <summary>
/// Image and video sample grids (SkiaSharp, headless): rows = seeds, columns = prompts, as in
/// the paper's Fig. 3. A video cell is its frames side by side (a frame strip).
/// </summary>
public static class ImageGrid
{
    private const int Gap = 2;

    /// <summary>
    /// Writes a PNG grid of samples laid out row-major ([rows × columns, C, H, W] images or
    /// [rows × columns, F, C, H, W] videos, values in [−1, 1]). Column titles go above the grid.
    /// </summary>
    public static void Save(string path, Tensor samples, int rows, int columns, IReadOnlyList<string>? columnTitles = null, int zoom = 4, int? frame = null)
    {
        using var bitmap = Render(samples, rows, columns, columnTitles, zoom, frame);
        IO.AtomicFile.Write(path, temp =>
        {
            using var stream = File.Create(temp);
            bitmap.Encode(stream, SKEncodedImageFormat.Png, 100);
        });
    }

    /// <summary>
    /// Writes the grid of <see cref="Save"/> to <paramref name="pngPath"/> and, for videos, also an
    /// animated PNG beside it (same name, <c>.apng</c>) that plays the frames of every cell together.
    /// Returns the animated file's path, or null for images.
    /// </summary>
    public static string? SaveWithAnimation(string pngPath, Tensor samples, int rows, int columns, IReadOnlyList<string>? columnTitles, int stripZoom, int frameZoom)
    {
        var video = samples.dim() == 5;
        Save(pngPath, samples, rows, columns, columnTitles, zoom: video ? stripZoom : frameZoom);
        if (!video) return null;
        var frames = Enumerable.Range(0, (int)samples.shape[1]).Select(f => Render(samples, rows, columns, columnTitles, zoom: frameZoom, frame: f)).ToList();
        var apng = Path.ChangeExtension(pngPath, ".apng");
        try { AnimatedPng.Save(apng, frames); }
        finally { foreach (var f in frames) f.Dispose(); }
        return apng;
    }

    /// <summary>The grid as a bitmap; with <paramref name="frame"/> a video grid shows only that frame per cell.</summary>
    public static SKBitmap Render(Tensor samples, int rows, int columns, IReadOnlyList<string>? columnTitles = null, int zoom = 4, int? frame = null)
    {
        if (samples.shape[0] != rows * columns) throw new ArgumentException($"{samples.shape[0]} samples do not fill a {rows}×{columns} grid");
        var video = samples.dim() == 5;
        using var cpu = samples.detach().to(ScalarType.Float32).cpu().clamp(-1, 1);
        long frames = video ? cpu.shape[1] : 1, channels = cpu.shape[^3], h = cpu.shape[^2], w = cpu.shape[^1];
        var shown = frame is null ? frames : 1;
        var pixels = cpu.data<float>().ToArray();
        var cellW = (int)(shown * w * zoom + (shown - 1) * (video ? 1 : 0));
        var cellH = (int)(h * zoom);
        var titleH = columnTitles is null ? 0 : 14;
        var bitmap = new SKBitmap(columns * (cellW + Gap) + Gap, titleH + rows * (cellH + Gap) + Gap);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(new SKColor(60, 60, 60));
        var per = frames * channels * h * w;
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < columns; c++)
            {
                var i = r * columns + c;
                for (var fi = 0; fi < shown; fi++)
                {
                    var f = frame ?? fi;
                    var x0 = Gap + c * (cellW + Gap) + fi * (int)(w * zoom + 1);
                    var y0 = titleH + Gap + r * (cellH + Gap);
                    for (var y = 0; y < h; y++)
                        for (var x = 0; x < w; x++)
                        {
                            byte V(long ch) => (byte)Math.Round((pixels[i * per + ((f * channels + ch) * h + y) * w + x] + 1) * 127.5);
                            var colour = channels >= 3 ? new SKColor(V(0), V(1), V(2)) : new SKColor(V(0), V(0), V(0));
                            using var paint = new SKPaint { Color = colour };
                            canvas.DrawRect(x0 + x * zoom, y0 + y * zoom, zoom, zoom, paint);
                        }
                }
            }
        if (columnTitles is not null)
        {
            using var font = new SKFont(SKTypeface.Default, 10);
            using var ink = new SKPaint { Color = SKColors.White, IsAntialias = true };
            for (var c = 0; c < Math.Min(columns, columnTitles.Count); c++)
                canvas.DrawText(columnTitles[c], Gap + c * (cellW + Gap), 11, SKTextAlign.Left, font, ink);
        }
        return bitmap;
    }
}
