using System.IO.Compression;
using PhasedDmd.Data;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Data;

/// <summary>Fashion-MNIST as Debian's dataset-fashion-mnist installs it (.ci/run installs the package when it is missing).</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        if (!FashionMnist.Available) Skip = $"Fashion-MNIST is not installed (apt-get install {FashionMnist.Package})";
    }
}

public class IdxFileTests
{
    [Fact]
    public void An_idx_file_reads_back_its_shape_and_bytes_plain_and_gzipped()
    {
        var dir = TestUtil.TempDir();
        var data = Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 7)).ToArray();
        var raw = IdxFile.Format([2, 3, 4], data);
        Assert.Equal(new byte[] { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4 }, raw[..16]);   // big-endian sizes, as LeCun's format says
        var plain = Path.Combine(dir, "x-idx3-ubyte");
        File.WriteAllBytes(plain, raw);
        var gz = plain + ".gz";
        using (var file = File.Create(gz))
        using (var zip = new GZipStream(file, CompressionLevel.Fastest))
            zip.Write(raw);
        foreach (var path in new[] { plain, gz })
        {
            var (shape, bytes) = IdxFile.Read(path);
            Assert.Equal([2, 3, 4], shape);
            Assert.Equal(data, bytes);
        }
    }

    [Theory]
    [InlineData(new byte[] { 1, 0, 8, 1, 0, 0, 0, 1, 5 }, "magic")]
    [InlineData(new byte[] { 0, 0, 0x0D, 1, 0, 0, 0, 1, 5, 5, 5, 5 }, "type 0x0d")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0, 0, 0, 2 }, "cut short")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 3, 5, 5 }, "should hold 3 values")]
    public void A_malformed_idx_file_is_one_input_error_naming_the_problem(byte[] raw, string expected)
    {
        var e = Assert.Throws<InputException>(() => IdxFile.Parse(raw, "bad.idx"));
        Assert.Contains(expected, e.Message);
        Assert.Contains("bad.idx", e.Message);
    }

    [Fact]
    public void A_missing_data_set_names_the_debian_package()
    {
        var previous = Environment.GetEnvironmentVariable(FashionMnist.FolderVariable);
        Environment.SetEnvironmentVariable(FashionMnist.FolderVariable, TestUtil.TempDir());
        try
        {
            Assert.False(FashionMnist.Available);
            var e = Assert.Throws<InputException>(() => FashionMnist.Load("test"));
            Assert.Contains(FashionMnist.Package, e.Message);
        }
        finally { Environment.SetEnvironmentVariable(FashionMnist.FolderVariable, previous); }
    }
}

public class FashionMnistTests
{
    [FashionMnistFact]
    public void The_splits_hold_60000_and_10000_images_in_ten_balanced_classes_scaled_to_minus_one_one()
    {
        var train = FashionMnist.Load("train");
        var test = FashionMnist.Load("test");
        Assert.Equal(60_000, train.Count);
        Assert.Equal(10_000, test.Count);
        // Fashion-MNIST is balanced by construction: 6000 and 1000 images per class (Xiao et al. 2017).
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(6000, Enumerable.Range(0, train.Count).Count(i => train.Label(i) == c)));
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, Enumerable.Range(0, test.Count).Count(i => test.Label(i) == c)));
        using var scope = NewDisposeScope();
        var images = test.Images([.. Enumerable.Range(0, 500)]);
        Assert.Equal([500, 1, 28, 28], images.shape);
        Assert.Equal(-1.0, images.min().item<float>(), 6);   // the black background
        Assert.Equal(1.0, images.max().item<float>(), 6);
    }

    [FashionMnistFact]
    public void A_class_grid_puts_class_c_in_column_c_of_every_row()
    {
        var test = FashionMnist.Load("test");
        var grid = test.ClassGrid(5);
        Assert.Equal(50, grid.Length);
        for (var i = 0; i < grid.Length; i++) Assert.Equal(i % 10, test.Label(grid[i]));
        Assert.Equal(50, grid.Distinct().Count());
        Assert.Throws<InputException>(() => test.ClassGrid(1001));
    }
}
