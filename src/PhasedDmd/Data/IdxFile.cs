using System.Buffers.Binary;
using System.IO.Compression;

namespace PhasedDmd.Data;

/// <summary>
/// The idx format of MNIST-style data sets (LeCun et al.): two zero bytes, a type byte (0x08: unsigned bytes), the
/// number of dimensions, each dimension as a big-endian 32-bit integer, then the data in row-major order. Files
/// ending in <c>.gz</c> are read through gzip. Only unsigned-byte files are read (images and labels are).
/// </summary>
public static class IdxFile
{
    /// <summary>The shape and the bytes of an idx file; a malformed file is an <see cref="InputException"/> naming it.</summary>
    public static (int[] Shape, byte[] Data) Read(string path)
    {
        if (!File.Exists(path)) throw new InputException($"idx: file not found: {path}");
        byte[] raw;
        try
        {
            using var file = File.OpenRead(path);
            using var stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            raw = memory.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InputException($"idx: {path} is not a readable gzip file ({e.Message})");
        }
        return Parse(raw, path);
    }

    /// <summary>Parses the bytes of an (uncompressed) idx file; <paramref name="name"/> names it in errors.</summary>
    public static (int[] Shape, byte[] Data) Parse(byte[] raw, string name)
    {
        if (raw.Length < 4 || raw[0] != 0 || raw[1] != 0)
            throw new InputException($"idx: {name} does not start with the idx magic (two zero bytes, a type, the number of dimensions)");
        if (raw[2] != 0x08) throw new InputException($"idx: {name} holds type 0x{raw[2]:x2}; only unsigned bytes (0x08) are read");
        var dims = raw[3];
        if (dims == 0 || raw.Length < 4 + 4 * dims) throw new InputException($"idx: {name} is cut short in its header ({dims} dimensions)");
        var shape = new int[dims];
        long count = 1;
        for (var d = 0; d < dims; d++)
        {
            var size = BinaryPrimitives.ReadUInt32BigEndian(raw.AsSpan(4 + 4 * d, 4));
            if (size == 0 || size > int.MaxValue) throw new InputException($"idx: {name} has dimension {d} of size {size}");
            shape[d] = (int)size;
            count *= size;
        }
        var offset = 4 + 4 * dims;
        if (raw.Length - offset != count)
            throw new InputException($"idx: {name} should hold {count} values after its header ([{string.Join(", ", shape)}]) but holds {raw.Length - offset}");
        return (shape, raw.AsSpan(offset).ToArray());
    }

    /// <summary>The bytes of an idx file of unsigned bytes with the given shape (for tests and small exports).</summary>
    public static byte[] Format(int[] shape, byte[] data)
    {
        var header = new byte[4 + 4 * shape.Length];
        header[2] = 0x08;
        header[3] = (byte)shape.Length;
        for (var d = 0; d < shape.Length; d++) BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4 + 4 * d, 4), (uint)shape[d]);
        return [.. header, .. data];
    }
}
