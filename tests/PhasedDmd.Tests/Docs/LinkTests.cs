using System.Text.RegularExpressions;
using Xunit;

namespace PhasedDmd.Tests.Docs;

/// <summary>The documentation travels with the repository: no relative link points to a missing file or outside the clone.</summary>
public partial class LinkTests
{
    [GeneratedRegex(@"!?\[[^\]]*\]\(([^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex MarkdownLink();

    public static TheoryData<string> Documents()
    {
        var root = TestUtil.RepoRoot();
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(root, "*.md").Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories)))
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
            if (target.StartsWith('#') || Regex.IsMatch(target, "^[a-z][a-z0-9+.-]*:", RegexOptions.IgnoreCase)) continue;   // anchors, http:, mailto:
            var file = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(target.Split('#')[0])));
            if (!file.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) broken.Add($"{target} (leaves the repository)");
            else if (!File.Exists(file) && !Directory.Exists(file)) broken.Add($"{target} (missing)");
        }
        Assert.True(broken.Count == 0, $"{document}: {string.Join("; ", broken)}");
    }

    [Fact]
    public void The_checker_finds_links_and_images()
    {
        var links = MarkdownLink().Matches("see [a](docs/a.md#x) and ![b](img/b.png \"title\") and [c](https://x.org)").Select(m => m.Groups[1].Value);
        Assert.Equal(["docs/a.md#x", "img/b.png", "https://x.org"], links);
    }
}
