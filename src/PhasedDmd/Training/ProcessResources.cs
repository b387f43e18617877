namespace PhasedDmd.Training;

/// <summary>Resource use of this process (Linux /proc; elsewhere the managed figures).</summary>
public static class ProcessResources
{
    /// <summary>Peak resident set size (VmHWM) in bytes; includes libtorch's native allocations.</summary>
    public static long PeakRssBytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (var line in File.ReadLines(status))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal) && TryParseStatusKilobytes(line, out var kb))
                    return kb * 1024;
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }

    /// <summary>Parses a /proc status line such as "VmHWM:\t  2196 kB" (tabs or spaces, any padding).</summary>
    public static bool TryParseStatusKilobytes(string line, out long kilobytes)
    {
        kilobytes = 0;
        var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && long.TryParse(fields[1], System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out kilobytes);
    }
}

/// <summary>What a distillation run cost: written as resources.json beside the student.</summary>
public sealed record RunResources(double WallSeconds, long GeneratorUpdates, double SecondsPerGeneratorUpdate, double PeakRssMiB, int Threads);
