namespace PhasedDmd.Training;

/// <summary>Shows progress through a callback (the command line's progress bar); only logged updates report, as the log does.</summary>
public sealed class ProgressObserver(Action<JobProgress> progress) : ITrainingObserver
{
    public void Updated(UpdateReport r)
    {
        if (r.Logged is not null) progress(new JobProgress(r.Done, r.Total, r.Status));
    }
}
