using PhasedDmd.Plotting;
using SkiaSharp;
using Xunit;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Plotting;

public class ImageGridTests
{
    [Fact]
    public void Each_cell_shows_its_sample_row_major()
    {
        // 2 rows × 3 columns of flat colours: cell (r, c) has red = r, green = c / 2.
        var images = new float[6 * 3 * 4 * 4];
        for (var i = 0; i < 6; i++)
            for (var p = 0; p < 16; p++)
            {
                images[i * 48 + p] = i / 3 * 2 - 1;            // red: −1 or +1 by row
                images[i * 48 + 16 + p] = (i % 3) - 1;         // green: −1, 0, +1 by column
                images[i * 48 + 32 + p] = -1;
            }
        using var samples = torch.tensor(images, [6, 3, 4, 4]);
        using var bitmap = ImageGrid.Render(samples, rows: 2, columns: 3, zoom: 2);
        for (var r = 0; r < 2; r++)
            for (var c = 0; c < 3; c++)
            {
                var pixel = bitmap.GetPixel(2 + c * (8 + 2) + 4, 2 + r * (8 + 2) + 4);   // centre of the cell
                Assert.Equal(r == 0 ? 0 : 255, pixel.Red);
                Assert.Equal(new byte[] { 0, 128, 255 }[c], pixel.Green);
                Assert.Equal(0, pixel.Blue);
            }
        Assert.Throws<ArgumentException>(() => { using var _ = ImageGrid.Render(samples, rows: 4, columns: 2); });
    }

    [Fact]
    public void Animated_png_has_one_control_chunk_per_frame_and_valid_crcs()
    {
        Assert.Equal(0xAE426082u, AnimatedPng.Crc32("IEND"u8));   // the CRC every PNG ends with
        var frames = Enumerable.Range(0, 5).Select(k =>
        {
            var b = new SKBitmap(12, 8);
            b.Erase(new SKColor((byte)(50 * k), 0, 0));
            return b;
        }).ToList();
        var path = Path.Combine(TestUtil.TempDir(), "clip.apng");
        AnimatedPng.Save(path, frames);
        var bytes = File.ReadAllBytes(path);
        var chunks = AnimatedPng.Chunks(bytes);
        Assert.Equal("IHDR", chunks[0].Type);
        Assert.Equal("acTL", chunks[1].Type);
        Assert.Equal(5u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(chunks[1].Data));
        Assert.Equal(5, chunks.Count(c => c.Type == "fcTL"));
        Assert.True(chunks.Count(c => c.Type == "fdAT") >= 4);
        Assert.Equal("IEND", chunks[^1].Type);
        // every chunk's stored CRC matches its type and data
        for (int at = 8, k = 0; at < bytes.Length; k++)
        {
            var length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at));
            var crc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at + 8 + length));
            Assert.Equal(AnimatedPng.Crc32(bytes.AsSpan(at + 4, 4 + length)), crc);
            at += 12 + length;
        }
        // a plain PNG decoder sees the first frame
        using var first = SKBitmap.Decode(path);
        Assert.Equal(12, first.Width);
        Assert.Equal(0, first.GetPixel(3, 3).Red);
        foreach (var f in frames) f.Dispose();
    }
}
