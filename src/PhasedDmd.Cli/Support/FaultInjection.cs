namespace PhasedDmd.Cli.Support;

/// <summary>
/// Fault injection for the crash-and-resume tests: with PHASEDDMD_FAULT_KILL_AFTER_PHASE=k the
/// process kills itself (SIGKILL) right after writing the checkpoint at the end of phase k.
/// </summary>
public static class FaultInjection
{
    public const string KillAfterPhase = "PHASEDDMD_FAULT_KILL_AFTER_PHASE";

    /// <summary>The fault-injection observers the environment asks for (none in normal use).</summary>
    public static IEnumerable<Training.ITrainingObserver> Observers()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable(KillAfterPhase), out var phase))
            yield return new Training.PhaseEndHook(k => { if (k == phase) KillSelf(); });
    }

    public static void KillSelf()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        self.Kill();
    }
}
