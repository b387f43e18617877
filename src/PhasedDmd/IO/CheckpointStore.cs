using System.Security.Cryptography;
using System.Text.Json;

namespace PhasedDmd.IO;

/// <summary>
/// Atomic, verified checkpoints in a folder: each checkpoint is a directory
/// <c>step-NNNNNNNNN</c> holding its files and a <c>manifest.json</c> (sizes and SHA-256).
/// A checkpoint is written into a hidden temporary directory, flushed, verified, and only then
/// renamed into place; older checkpoints are pruned only after that, so a failed write (full
/// disk, read-only folder, crash) never destroys the last good one. Loading verifies the
/// manifest and falls back to the newest checkpoint that is intact.
/// </summary>
public sealed class CheckpointStore(string root, int keep = 2)
{
    public const string ManifestFile = "manifest.json";
    public string Root { get; } = root;

    /// <summary>Writes a checkpoint for <paramref name="step"/>; <paramref name="write"/> fills the given folder.</summary>
    public string Save(long step, Action<string> write)
    {
        Directory.CreateDirectory(Root);
        var final = Path.Combine(Root, Name(step));
        var temp = Path.Combine(Root, $".incoming-{step}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(temp);
            write(temp);
            var entries = Directory.GetFiles(temp).Select(Path.GetFileName).Order(StringComparer.Ordinal)
                .Select(name => Describe(Path.Combine(temp, name!))).ToList();
            File.WriteAllText(Path.Combine(temp, ManifestFile), JsonSerializer.Serialize(entries, Json.Options));
            foreach (var f in Directory.GetFiles(temp))
                using (var fs = new FileStream(f, FileMode.Open, FileAccess.ReadWrite)) fs.Flush(flushToDisk: true);
            if (Verify(temp) is { } problem) throw new IOException($"checkpoint {step} failed verification after writing: {problem}");
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(temp, final);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        Prune();
        return final;
    }

    /// <summary>Checkpoint directories, newest first (complete ones only: temporaries are hidden).</summary>
    public IReadOnlyList<(long Step, string Path)> List()
    {
        if (!Directory.Exists(Root)) return [];
        return Directory.GetDirectories(Root, "step-*")
            .Select(d => (Ok: long.TryParse(System.IO.Path.GetFileName(d)[5..], out var s), Step: s, Path: d))
            .Where(x => x.Ok).OrderByDescending(x => x.Step).Select(x => (x.Step, x.Path)).ToList();
    }

    /// <summary>
    /// The newest checkpoint whose manifest verifies, or null if there is none. Corrupt ones
    /// are reported through <paramref name="skipped"/> (one line each) and left in place.
    /// </summary>
    public (long Step, string Path)? LatestValid(Action<string>? skipped = null)
    {
        foreach (var (step, path) in List())
        {
            if (Verify(path) is not { } problem) return (step, path);
            skipped?.Invoke($"checkpoint {System.IO.Path.GetFileName(path)} is damaged ({problem}); falling back to an earlier one");
        }
        return null;
    }

    /// <summary>Null when every file listed in the manifest exists with its size and hash; otherwise the problem.</summary>
    public static string? Verify(string dir)
    {
        var manifestPath = Path.Combine(dir, ManifestFile);
        if (!File.Exists(manifestPath)) return "no manifest";
        List<ManifestEntry>? entries;
        try { entries = JsonSerializer.Deserialize<List<ManifestEntry>>(File.ReadAllText(manifestPath), Json.Options); }
        catch (JsonException) { return "unreadable manifest"; }
        if (entries is null || entries.Count == 0) return "empty manifest";
        foreach (var e in entries)
        {
            var f = Path.Combine(dir, e.Name);
            if (!File.Exists(f)) return $"{e.Name} is missing";
            var actual = Describe(f);
            if (actual.Size != e.Size) return $"{e.Name} has {actual.Size} bytes, expected {e.Size}";
            if (actual.Sha256 != e.Sha256) return $"{e.Name} checksum mismatch";
        }
        return null;
    }

    private void Prune()
    {
        foreach (var (_, path) in List().Skip(keep)) TryDelete(path);
        if (Directory.Exists(Root))
            foreach (var stale in Directory.GetDirectories(Root, ".incoming-*")) TryDelete(stale);
    }

    private static ManifestEntry Describe(string file)
    {
        using var stream = File.OpenRead(file);
        var hash = Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
        return new ManifestEntry(Path.GetFileName(file), new FileInfo(file).Length, hash);
    }

    private static string Name(long step) => $"step-{step:D9}";

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
