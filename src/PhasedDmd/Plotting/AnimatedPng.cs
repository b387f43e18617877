using System.Buffers.Binary;
using System.Text;
using SkiaSharp;

namespace PhasedDmd.Plotting;

/// <summary>
/// Animated PNG (APNG) writer for video previews: each frame is encoded as a PNG by SkiaSharp,
/// and its image data is re-wrapped as APNG frame chunks (acTL / fcTL / fdAT, per the APNG
/// specification). Browsers and most image viewers play it; others show the first frame.
/// </summary>
public static class AnimatedPng
{
    public static void Save(string path, IReadOnlyList<SKBitmap> frames, int delayMilliseconds = 150)
    {
        if (frames.Count == 0) throw new ArgumentException("no frames");
        var encoded = frames.Select(f =>
        {
            using var data = f.Encode(SKEncodedImageFormat.Png, 100);
            return Chunks(data.ToArray());
        }).ToList();
        var header = encoded[0].First(c => c.Type == "IHDR").Data;
        if (encoded.Any(e => !e.First(c => c.Type == "IHDR").Data.AsSpan().SequenceEqual(header)))
            throw new InvalidOperationException("APNG frames must share one size and pixel format");

        IO.AtomicFile.Write(path, temp =>
        {
            using var stream = File.Create(temp);
            stream.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
            WriteChunk(stream, "IHDR", header);
            WriteChunk(stream, "acTL", [.. U32(frames.Count), .. U32(0)]);    // loop forever
            var sequence = 0u;
            for (var k = 0; k < encoded.Count; k++)
            {
                byte[] control = [.. U32(sequence++), .. U32(frames[k].Width), .. U32(frames[k].Height), .. U32(0), .. U32(0),
                                  .. U16(delayMilliseconds), .. U16(1000), 0, 0];
                WriteChunk(stream, "fcTL", control);
                foreach (var idat in encoded[k].Where(c => c.Type == "IDAT"))
                {
                    if (k == 0) WriteChunk(stream, "IDAT", idat.Data);                  // the default image is frame 0
                    else WriteChunk(stream, "fdAT", [.. U32(sequence++), .. idat.Data]);
                }
            }
            WriteChunk(stream, "IEND", []);
        });
    }

    /// <summary>The chunks of a PNG file (type and data).</summary>
    public static List<(string Type, byte[] Data)> Chunks(byte[] png)
    {
        var chunks = new List<(string, byte[])>();
        for (var at = 8; at + 12 <= png.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            var type = Encoding.ASCII.GetString(png, at + 4, 4);
            chunks.Add((type, png.AsSpan(at + 8, length).ToArray()));
            at += 12 + length;
        }
        return chunks;
    }

    private static void WriteChunk(Stream stream, string type, byte[] data)
    {
        var typeBytes = Encoding.ASCII.GetBytes(type);
        stream.Write(U32(data.Length));
        stream.Write(typeBytes);
        stream.Write(data);
        stream.Write(U32((int)Crc32([.. typeBytes, .. data])));
    }

    private static byte[] U32(long v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(b, (uint)v); return b; }
    private static byte[] U16(int v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)v); return b; }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>The CRC-32 of PNG chunks (ISO 3309 / ITU-T V.42 polynomial).</summary>
    public static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in bytes) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
