using TorchSharp;

namespace PhasedDmd.Training;

/// <summary>
/// The loop every trainer shares (teacher training, each phase of a distillation), read top to bottom: each update
/// runs in its own dispose scope; then the finaliser's native objects are released, the observers hear of the
/// update, the ranks compare parameter checksums every <see cref="DataParallel.ChecksumEvery"/> updates, agree on
/// whether to stop, and a checkpoint is written every <c>checkpointEvery</c> updates or when the run is cancelled
/// (after which it stops). What an update is, what a checkpoint holds and what the checksums cover are the caller's.
/// </summary>
/// <param name="Update">One update at this iteration; the tensors it makes are disposed with its scope. Returns the report (its Done counts every update of the run).</param>
/// <param name="CompareChecksums">Compares the trained parameters across ranks (throws when they differ).</param>
/// <param name="Checkpoint">Writes a resumable checkpoint after this iteration and tells the observers.</param>
/// <param name="Interrupted">The message of the run stopped after this iteration (its checkpoint written).</param>
public sealed record TrainingLoop(
    Func<int, UpdateReport> Update, Action CompareChecksums, Action<int> Checkpoint, Func<int, string> Interrupted,
    IReadOnlyList<ITrainingObserver> Observers, IGradientSync Sync, CancellationToken Cancel, int CheckpointEvery)
{
    /// <summary>Runs iterations <paramref name="first"/> to <paramref name="last"/>; the caller checkpoints the end.</summary>
    public void Run(int first, int last)
    {
        for (var it = first; it <= last; it++)
        {
            UpdateReport report;
            using (torch.NewDisposeScope()) report = Update(it);
            Runtime.ReleaseFinalizableNativeObjects();
            foreach (var o in Observers) o.Updated(report);
            if (report.Done % DataParallel.ChecksumEvery == 0) CompareChecksums();
            var cancelled = Sync.AnyTrue(Cancel.IsCancellationRequested);   // every rank stops at the same update
            if (it < last && (cancelled || (CheckpointEvery > 0 && report.Done % CheckpointEvery == 0))) Checkpoint(it);
            if (cancelled && it < last) throw new OperationCanceledException(Interrupted(it));
        }
    }
}
