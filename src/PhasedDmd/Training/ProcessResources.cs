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
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }
}

/// <summary>What a distillation run cost: written as resources.json beside the student.</summary>
public sealed record RunResources(double WallSeconds, long GeneratorUpdates, double SecondsPerGeneratorUpdate, double PeakRssMiB, int Threads);
