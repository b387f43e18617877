using PhasedDmd.Cli;
using Xunit;

namespace PhasedDmd.Tests.Docs;

/// <summary>docs/cli.md's option tables are the commands' own definitions, and those are what --help shows.</summary>
public class CliReferenceTests
{
    private static string CliMd => Path.Combine(TestUtil.RepoRoot(), "docs", "cli.md");

    /// <summary>Set PHASEDDMD_UPDATE_DOCS=1 to rewrite the tables in docs/cli.md instead of failing.</summary>
    [Fact]
    public void The_option_tables_in_docs_cli_md_are_generated_from_the_current_commands()
    {
        var text = File.ReadAllText(CliMd).ReplaceLineEndings("\n");
        var updated = CliReference.Update(text);
        if (Environment.GetEnvironmentVariable("PHASEDDMD_UPDATE_DOCS") == "1") File.WriteAllText(CliMd, updated);
        else Assert.True(updated == text, "docs/cli.md is out of date: run PHASEDDMD_UPDATE_DOCS=1 dotnet test -c Release --filter CliReferenceTests");
        var visible = PhasedDmdApp.Commands.Where(c => !c.Hidden).Select(c => c.Name).Order();
        Assert.Equal(visible, CliReference.Documented(text).Order());
    }

    [Theory]
    [InlineData("distill")]
    [InlineData("sample")]
    [InlineData("demo")]
    public void Every_generated_option_is_one_that_help_prints(string name)
    {
        var command = PhasedDmdApp.Commands.Single(c => c.Name == name);
        var options = CliReference.Options(command.Settings);
        Assert.NotEmpty(options);
        var (code, help) = Build.Dotnet.Run(AppContext.BaseDirectory, TimeSpan.FromMinutes(1), Path.Combine(AppContext.BaseDirectory, "phased-dmd.dll"), name, "--help");
        Assert.True(code == 0, help);
        foreach (var (option, _) in options) Assert.Contains(option, help);
        var helpOptions = System.Text.RegularExpressions.Regex.Matches(help, @"^ {4}(?:-\w, | {4})--[a-z0-9-]+", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Value.Trim()).Where(o => o != "-h, --help").ToList();   // option lines, not wrapped descriptions
        Assert.Equal(helpOptions.Count, options.Count);   // and help prints no option the table lacks
    }
}
