namespace PhasedDmd.IO;

/// <summary>
/// The files shipped in the repository's <c>assets/</c> folder (teachers, encoders), found from the
/// working directory or from any folder above the executable (a repository checkout).
/// </summary>
public static class Assets
{
    /// <summary>The directory <c>assets/&lt;relative&gt;</c> that contains <paramref name="marker"/>; null if none is found.</summary>
    public static string? Find(string relative, string marker)
    {
        var path = Path.Combine("assets", relative);
        if (File.Exists(Path.Combine(path, marker))) return path;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, path, marker))) return Path.Combine(d.FullName, path);
        return null;
    }

    /// <summary>The shipped teacher of a task (assets/teachers/&lt;task&gt;); null if none.</summary>
    public static string? Teacher(string task) => Find(Path.Combine("teachers", task), ModelDirectory.CardFile);
}
