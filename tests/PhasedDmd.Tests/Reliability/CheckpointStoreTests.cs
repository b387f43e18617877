using PhasedDmd.IO;
using Xunit;

namespace PhasedDmd.Tests.Reliability;

public class CheckpointStoreTests
{
    private static void WriteFiles(string dir, string content)
    {
        File.WriteAllText(Path.Combine(dir, "a.bin"), content);
        File.WriteAllText(Path.Combine(dir, "b.bin"), content + content);
    }

    [Fact]
    public void Keeps_the_newest_checkpoints_and_verifies_them()
    {
        var store = new CheckpointStore(TestUtil.TempDir(), keep: 2);
        for (var step = 10; step <= 40; step += 10) store.Save(step, d => WriteFiles(d, $"state {step}"));
        Assert.Equal([40L, 30L], store.List().Select(c => c.Step));
        Assert.Equal(40, store.LatestValid()!.Value.Step);
        Assert.Null(CheckpointStore.Verify(store.List()[0].Path));
    }

    [Fact]
    public void A_truncated_or_corrupted_checkpoint_is_detected_and_loading_falls_back()
    {
        var store = new CheckpointStore(TestUtil.TempDir());
        store.Save(1, d => WriteFiles(d, "good"));
        var newest = store.Save(2, d => WriteFiles(d, "newer"));
        var file = Path.Combine(newest, "b.bin");
        File.WriteAllBytes(file, File.ReadAllBytes(file)[..3]);                     // truncated
        var warnings = new List<string>();
        var latest = store.LatestValid(warnings.Add);
        Assert.Equal(1, latest!.Value.Step);
        Assert.Single(warnings);
        Assert.Contains("b.bin has 3 bytes", warnings[0]);

        var bytes = File.ReadAllBytes(Path.Combine(latest.Value.Path, "a.bin"));
        bytes[0] ^= 0xFF;                                                           // same size, flipped bits
        File.WriteAllBytes(Path.Combine(latest.Value.Path, "a.bin"), bytes);
        Assert.Contains("checksum", CheckpointStore.Verify(latest.Value.Path));
        Assert.Null(store.LatestValid());
    }

    [Fact]
    public void A_failed_write_never_destroys_the_last_good_checkpoint()
    {
        var store = new CheckpointStore(TestUtil.TempDir(), keep: 1);
        store.Save(5, d => WriteFiles(d, "good"));
        // A full disk shows up as an IOException half-way through writing the files.
        Assert.Throws<IOException>(() => store.Save(6, d =>
        {
            File.WriteAllText(Path.Combine(d, "a.bin"), "partial");
            throw new IOException("No space left on device");
        }));
        var latest = store.LatestValid();
        Assert.Equal(5, latest!.Value.Step);
        Assert.Equal("good", File.ReadAllText(Path.Combine(latest.Value.Path, "a.bin")));
        Assert.Empty(Directory.GetDirectories(store.Root, ".incoming-*"));
    }

    [Fact]
    public void A_checkpoint_without_manifest_is_not_trusted()
    {
        var store = new CheckpointStore(TestUtil.TempDir());
        var path = store.Save(3, d => WriteFiles(d, "x"));
        File.Delete(Path.Combine(path, CheckpointStore.ManifestFile));
        Assert.Equal("no manifest", CheckpointStore.Verify(path));
        Assert.Null(store.LatestValid());
    }
}
