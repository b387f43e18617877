namespace PhasedDmd.Cli.Support;

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
