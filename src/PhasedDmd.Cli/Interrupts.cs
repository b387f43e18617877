namespace PhasedDmd.Cli;

/// <summary>Ctrl-C asks a training loop to checkpoint and stop instead of killing the process.</summary>
public sealed class Interrupts : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly ConsoleCancelEventHandler _handler;

    private Interrupts()
    {
        _handler = (_, e) =>
        {
            if (_cts.IsCancellationRequested) return;   // a second Ctrl-C kills as usual
            e.Cancel = true;
            Console.Error.WriteLine("interrupt: finishing the current update and writing a checkpoint (Ctrl-C again to abort)");
            _cts.Cancel();
        };
        Console.CancelKeyPress += _handler;
    }

    public static Interrupts OnCtrlC() => new();

    public CancellationToken Token => _cts.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= _handler;
        _cts.Dispose();
    }
}

/// <summary>
/// Fault injection for the crash-and-resume tests: with PHASEDDMD_FAULT_KILL_AFTER_PHASE=k the
/// process kills itself (SIGKILL) right after writing the checkpoint at the end of phase k.
/// </summary>
public static class FaultInjection
{
    public const string KillAfterPhase = "PHASEDDMD_FAULT_KILL_AFTER_PHASE";

    public static void KillSelf()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        self.Kill();
    }
}
