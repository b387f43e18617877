using System.Text.RegularExpressions;
using Xunit;

namespace PhasedDmd.Tests.Docs;

/// <summary>
/// The documentation travels with the repository: no relative link points to a missing file, outside the
/// clone, or to a heading that does not exist (anchors are checked with GitHub's heading slugs).
/// </summary>
public partial class LinkTests
{
    [GeneratedRegex(@"!?\[[^\]]*\]\(([^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();

    public static TheoryData<string> Documents()
    {
        var root = TestUtil.RepoRoot();
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(root, "*.md")
                     .Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories))
                     .Concat(Directory.GetFiles(Path.Combine(root, "examples"), "*.md", SearchOption.AllDirectories)))
            data.Add(Path.GetRelativePath(root, f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Every_relative_link_resolves_inside_the_repository(string document)
    {
        var root = Path.GetFullPath(TestUtil.RepoRoot());
        var path = Path.Combine(root, document);
        var broken = new List<string>();
        foreach (Match m in MarkdownLink().Matches(File.ReadAllText(path)))
        {
            var target = m.Groups[1].Value;
            if (Regex.IsMatch(target, "^[a-z][a-z0-9+.-]*:", RegexOptions.IgnoreCase)) continue;   // http:, mailto:
            var parts = target.Split('#', 2);
            var file = parts[0] == "" ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(parts[0])));
            if (!file.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) broken.Add($"{target} (leaves the repository)");
            else if (!File.Exists(file) && !Directory.Exists(file)) broken.Add($"{target} (missing)");
            else if (parts.Length == 2 && file.EndsWith(".md", StringComparison.Ordinal) && !Anchors(File.ReadAllText(file)).Contains(parts[1]))
                broken.Add($"{target} (no such heading)");
        }
        Assert.True(broken.Count == 0, $"{document}: {string.Join("; ", broken)}");
    }

    /// <summary>The anchors GitHub gives a document's headings (outside code fences): lower case, punctuation dropped, spaces to hyphens, repeats numbered.</summary>
    internal static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>();
        var fenced = false;
        foreach (var line in markdown.ReplaceLineEndings("\n").Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) fenced = !fenced;
            if (fenced || !Regex.IsMatch(line, "^#{1,6} ")) continue;
            var slug = Regex.Replace(line.TrimStart('#').Trim().ToLowerInvariant(), @"[^\p{L}\p{N}\s_-]", "").Replace(' ', '-');
            var unique = slug;
            for (var n = 1; !anchors.Add(unique); n++) unique = $"{slug}-{n}";
        }
        return anchors;
    }

    [Fact]
    public void Anchors_follow_githubs_heading_slugs()
    {
        var anchors = Anchors("# Results\n## The libstdc++ fix (ELF patch)\n```bash\n# not a heading\n```\n## glyphs (text-to-image)\n### `train-teacher`\n## Results");
        Assert.True(anchors.SetEquals(["results", "the-libstdc-fix-elf-patch", "glyphs-text-to-image", "train-teacher", "results-1"]), string.Join(", ", anchors));
    }

    [Fact]
    public void The_checker_finds_links_and_images()
    {
        var links = MarkdownLink().Matches("see [a](docs/a.md#x) and ![b](img/b.png \"title\") and [c](https://x.org)").Select(m => m.Groups[1].Value);
        Assert.Equal(["docs/a.md#x", "img/b.png", "https://x.org"], links);
    }
}
