using PhasedDmd.Training;
using Xunit;

namespace PhasedDmd.Tests.Training;

public class ProcessResourcesTests
{
    [Theory]
    [InlineData("VmHWM:\t    2196 kB", 2196)]
    [InlineData("VmHWM:\t123456 kB", 123456)]   // large values: the tab is the only separator
    [InlineData("VmHWM:  7 kB", 7)]
    public void Status_lines_parse_with_tabs_or_spaces(string line, long expected)
    {
        Assert.True(ProcessResources.TryParseStatusKilobytes(line, out var kb));
        Assert.Equal(expected, kb);
    }

    [Theory]
    [InlineData("VmHWM:")]
    [InlineData("VmHWM:\tkB")]
    [InlineData("VmHWM:\t-5 kB")]
    public void Malformed_status_lines_are_rejected(string line) =>
        Assert.False(ProcessResources.TryParseStatusKilobytes(line, out _));

    [Fact]
    public void Peak_rss_is_at_least_the_current_working_set()
    {
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        p.Refresh();
        var peak = ProcessResources.PeakRssBytes();
        // The peak resident size can never be below what is resident now (allow page-accounting slack).
        Assert.True(peak >= p.WorkingSet64 * 0.9, $"peak {peak} < current {p.WorkingSet64}");
    }
}
