using PhasedDmd.Training;

namespace PhasedDmd.Tests;

/// <summary>Cancels a run once it has done <paramref name="done"/> generator updates (an interrupt at a known point).</summary>
internal sealed class CancelAt(long done, CancellationTokenSource cancel) : ITrainingObserver
{
    public void Updated(UpdateReport report)
    {
        if (report.Done == done) cancel.Cancel();
    }
}
