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

    /// <summary>Current resident set size (VmRSS) in bytes.</summary>
    public static long CurrentRssBytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (var line in File.ReadLines(status))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal) && TryParseStatusKilobytes(line, out var kb))
                    return kb * 1024;
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.WorkingSet64;
    }

    /// <summary>
    /// Resets the peak (VmHWM) to the current resident size, so that a later <see cref="PeakRssBytes"/>
    /// measures only what follows (Linux ≥ 4.0: writing 5 to /proc/self/clear_refs). False where unsupported.
    /// </summary>
    public static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
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
