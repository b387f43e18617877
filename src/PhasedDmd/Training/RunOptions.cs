namespace PhasedDmd.Training;

/// <summary>How a training run is driven from outside: resume or start fresh, stop on request, report warnings, observe.</summary>
/// <param name="Resume">Continue the run in the output directory from its newest intact checkpoint.</param>
/// <param name="Cancel">When it fires, the run writes a checkpoint after the current update and throws <see cref="OperationCanceledException"/>.</param>
/// <param name="Warn">One-line warnings (e.g. a damaged checkpoint skipped on resume).</param>
/// <param name="Observers">Watch every update and checkpoint (progress, benchmark timers, fault injection).</param>
public sealed record RunOptions(bool Resume = false, CancellationToken Cancel = default, Action<string>? Warn = null,
                                IReadOnlyList<ITrainingObserver>? Observers = null)
{
    public IReadOnlyList<ITrainingObserver> AllObservers => Observers ?? [];
}
