using System.Runtime.InteropServices;

namespace PhasedDmd.Cli.Support;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM — what SLURM and Kubernetes send before they pre-empt a job — ask a
/// training loop to finish its update, write a checkpoint and stop, instead of killing the process.
/// The process then exits with 130 (SIGINT) or 143 (SIGTERM), the shell's codes for those signals.
/// </summary>
public sealed class Interrupts : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly ConsoleCancelEventHandler _ctrlC;
    private readonly PosixSignalRegistration? _sigterm;

    /// <summary>The exit code of the last interrupt: 143 after SIGTERM, 130 otherwise.</summary>
    public static int ExitCode { get; private set; } = 130;

    private Interrupts()
    {
        _ctrlC = (_, e) =>
        {
            if (_cts.IsCancellationRequested) return;   // a second Ctrl-C kills as usual
            e.Cancel = true;
            Request(130, "interrupt: finishing the current update and writing a checkpoint (Ctrl-C again to abort)");
        };
        Console.CancelKeyPress += _ctrlC;
        if (!OperatingSystem.IsWindows())
            _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;   // keep running until the checkpoint is written
                if (!_cts.IsCancellationRequested) Request(143, "SIGTERM: finishing the current update and writing a checkpoint");
            });
    }

    /// <summary>Starts listening for Ctrl-C and SIGTERM until disposed.</summary>
    public static Interrupts Install() => new();

    public CancellationToken Token => _cts.Token;

    private void Request(int exitCode, string message)
    {
        ExitCode = exitCode;
        Console.Error.WriteLine(message);
        _cts.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= _ctrlC;
        _sigterm?.Dispose();
        _cts.Dispose();
    }
}
