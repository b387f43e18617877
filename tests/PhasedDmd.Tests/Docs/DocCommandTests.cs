using Xunit;
using Xunit.Abstractions;

namespace PhasedDmd.Tests.Docs;

/// <summary>Every phased-dmd command in README.md, docs/*.md and examples/**/*.md parses against the real command definitions.</summary>
public class DocCommandTests(ITestOutputHelper output)
{
    private static IEnumerable<string> Documents()
    {
        var root = TestUtil.RepoRoot();
        return new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md"))
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "examples"), "*.md", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal);
    }

    public static TheoryData<string, int, string> Commands()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var file in Documents())
            foreach (var (line, command) in DocCommand.Extract(File.ReadAllText(file)))
                data.Add(Path.GetRelativePath(TestUtil.RepoRoot(), file), line, command);
        return data;
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_documented_command_parses_against_the_real_commands(string file, int line, string command)
    {
        var unchecked_ = command.IndexOf(DocCommand.UncheckedMarker, StringComparison.Ordinal);
        if (unchecked_ >= 0)
        {
            var reason = command[(unchecked_ + DocCommand.UncheckedMarker.Length)..].Trim();
            Assert.False(reason.Length == 0, $"{file}:{line}: '{DocCommand.UncheckedMarker}' needs a reason");
            output.WriteLine($"{file}:{line}: not checked ({reason}): {command}");
            return;
        }
        Assert.True(DocCommand.Check(command) is not { } error, $"{file}:{line}: {DocCommand.Check(command)}\n  {command}");
    }

    public static TheoryData<string> HelpExamples()
    {
        var data = new TheoryData<string>();
        foreach (var command in PhasedDmd.Cli.PhasedDmdApp.Commands.Where(c => !c.Hidden))
            foreach (var example in command.Examples)
                data.Add(string.Join(' ', ["phased-dmd", command.Name, .. example.Select(a => a.Contains(' ') ? $"\"{a}\"" : a)]));
        return data;
    }

    /// <summary>The examples every <c>--help</c> page shows are commands too.</summary>
    [Theory]
    [MemberData(nameof(HelpExamples))]
    public void Every_help_example_parses_against_its_command(string command) => Assert.Null(DocCommand.Check(command));

    [Fact]
    public void The_docs_hold_commands_to_check()
    {
        Assert.True(Commands().Count() >= 40, $"only {Commands().Count()} documented commands found: is the extraction broken?");
    }

    [Theory]
    [InlineData("phased-dmd distil --teacher runs/t --out runs/s", "unknown command 'distil'")]
    [InlineData("phased-dmd distill --teacher runs/t --stepz 4 --out runs/s", "unknown option '--stepz'")]
    [InlineData("phased-dmd eval --model runs/s", "--out")]                                         // a required option left out
    [InlineData("phased-dmd compare --teacher runs/t --seeds 3", "--out")]
    [InlineData("phased-dmd distill --teacher runs/t --method phasd --out runs/s", "--method phasd")]
    [InlineData("phased-dmd distill --teacher runs/t --method dmd --steps 4 --out runs/s", "one-step method")]
    [InlineData("phased-dmd train-teacher --task glyphs --out assets/teachers/glyphs", "points into assets/")]
    [InlineData("phased-dmd train-teacher --task nope --out runs/t", "--task nope")]
    [InlineData("phased-dmd sample --model runs/s --n many --out runs/s.csv", "not a whole number")]
    [InlineData("phased-dmd import-teacher --torchscript t.pt --prediction sample2 --sample-shape 2 --out runs/t", "--prediction sample2")]
    [InlineData("phased-dmd train-encoder --task ring8|glyphs [--seed N] --out DIR", "--task ring8")]      // every alternative of a synopsis
    [InlineData("phased-dmd demo --device gpu", "--device gpu")]
    public void A_planted_bad_command_fails_with_the_reason(string command, string expected)
    {
        var error = DocCommand.Check(command);
        Assert.NotNull(error);
        Assert.Contains(expected, error);
    }

    [Theory]
    [InlineData("phased-dmd distill --teacher runs/t --method phased --steps 4 --phases 2 --out runs/s")]
    [InlineData("mpirun -n 2 phased-dmd mpi-check")]
    [InlineData("dotnet run -c Release --project src/PhasedDmd.Cli -- demo --quick   # a comment")]
    [InlineData("phased-dmd sample --model DIR [--prompt \"red 7 on blue\" --prompt ...] [--seeds 4] --out grid.png")]
    public void A_good_command_passes(string command) => Assert.Null(DocCommand.Check(command));
}
