using System.Diagnostics;
using PhasedDmd.Distillation;
using PhasedDmd.Training;

namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>
/// Times a distillation's generator updates from outside the loop: each update's wall time is the
/// interval since the previous update of its phase (or the phase's start), so checkpoints written at
/// phase boundaries are not counted. The first <c>warmup</c> updates of every phase and its last
/// (logged) one are left out. <c>atStart</c> runs once, just before the first update (after the run
/// directory is set up), and the process's peak resident memory is read right after the last update
/// (before the student is saved), so that memory figures measure the updates.
/// </summary>
public sealed class UpdateTimer(int warmup, int perPhase, Action<long>? afterUpdate = null, Action? atStart = null,
                                Func<double>? communication = null) : ITrainingObserver
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _last, _lastCommunication;
    private bool _started;
    public List<double> Seconds { get; } = [];
    /// <summary>Per timed update, the seconds spent communicating (when a communication clock was given).</summary>
    public List<double> CommunicationSeconds { get; } = [];
    /// <summary>VmHWM right after the run's last update.</summary>
    public long PeakRssBytes { get; private set; }

    public void PhaseStarted(int phase, int firstIteration)
    {
        if (!_started) atStart?.Invoke();
        _started = true;
        _last = _clock.Elapsed.TotalSeconds;
        _lastCommunication = communication?.Invoke() ?? 0;
    }

    public void Updated(UpdateReport r)
    {
        var now = _clock.Elapsed.TotalSeconds;
        var talked = communication?.Invoke() ?? 0;
        if (r.Iteration > warmup && r.Iteration < perPhase)
        {
            Seconds.Add(now - _last);
            CommunicationSeconds.Add(talked - _lastCommunication);
        }
        if (r.Done == r.Total) PeakRssBytes = ProcessResources.PeakRssBytes();
        afterUpdate?.Invoke(r.Done);
        _last = _clock.Elapsed.TotalSeconds;
        _lastCommunication = communication?.Invoke() ?? 0;
    }

    /// <summary>
    /// Runs <paramref name="warmup"/> + <paramref name="repeats"/> timed + 1 untimed generator updates
    /// in every phase of <paramref name="config"/> into a scratch directory (removed afterwards), and
    /// returns the timer (the timed updates' wall times and the peak memory).
    /// </summary>
    /// <param name="sync">The data-parallel group (default: one process); <paramref name="communication"/> is its clock of time spent communicating.</param>
    /// <param name="built">Called with the distiller once it is built (before it runs).</param>
    public static UpdateTimer Time(DistillConfig config, IO.ModelCard card, Models.VelocityModel teacher, int warmup, int repeats,
                                   Action<long>? afterUpdate = null, Action? atStart = null, IGradientSync? sync = null, Func<double>? communication = null,
                                   Action<Distiller>? built = null)
    {
        var perPhase = warmup + repeats + 1;
        var distiller = new Distiller(config with { IterationsPerPhase = perPhase, PhaseIterations = [], LogEvery = perPhase, CheckpointEvery = 0 }, card, teacher, sync);
        built?.Invoke(distiller);
        var timer = new UpdateTimer(warmup, perPhase, afterUpdate, atStart, communication);
        var scratch = Path.Combine(Path.GetTempPath(), $"pdmd-bench-{Guid.NewGuid():N}");
        try
        {
            distiller.Run(scratch, new RunOptions(Observers: [timer]));
        }
        finally
        {
            distiller.Student.Dispose();
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }
        return timer;
    }
}
