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
public sealed class UpdateTimer(int warmup, int perPhase, Action<long>? afterUpdate = null, Action? atStart = null) : ITrainingObserver
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _last;
    private bool _started;
    public List<double> Seconds { get; } = [];
    /// <summary>VmHWM right after the run's last update.</summary>
    public long PeakRssBytes { get; private set; }

    public void PhaseStarted(int phase, int firstIteration)
    {
        if (!_started) atStart?.Invoke();
        _started = true;
        _last = _clock.Elapsed.TotalSeconds;
    }

    public void Updated(UpdateReport r)
    {
        var now = _clock.Elapsed.TotalSeconds;
        if (r.Iteration > warmup && r.Iteration < perPhase) Seconds.Add(now - _last);
        if (r.Done == r.Total) PeakRssBytes = ProcessResources.PeakRssBytes();
        afterUpdate?.Invoke(r.Done);
        _last = _clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Runs <paramref name="warmup"/> + <paramref name="repeats"/> timed + 1 untimed generator updates
    /// in every phase of <paramref name="config"/> into a scratch directory (removed afterwards), and
    /// returns the timer (the timed updates' wall times and the peak memory).
    /// </summary>
    public static UpdateTimer Time(DistillConfig config, IO.ModelCard card, Models.VelocityModel teacher, int warmup, int repeats,
                                   Action<long>? afterUpdate = null, Action? atStart = null)
    {
        var perPhase = warmup + repeats + 1;
        var distiller = new Distiller(config with { IterationsPerPhase = perPhase, PhaseIterations = [], LogEvery = perPhase, CheckpointEvery = 0 }, card, teacher);
        var timer = new UpdateTimer(warmup, perPhase, afterUpdate, atStart);
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
