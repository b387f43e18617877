using System.Diagnostics;

namespace PhasedDmd.Training;

/// <summary>
/// Shows progress through a callback (the command line's progress bar); only logged updates report, as the log does.
/// From the <see cref="WarmUp"/>-th update of this process on, the status also carries the measured seconds per
/// update and the estimated time of the whole run, so a user knows early whether a setting is affordable.
/// </summary>
public sealed class ProgressObserver(Action<JobProgress> progress) : ITrainingObserver
{
    /// <summary>Updates left out of the pace (the first ones pay for allocation and warm-up).</summary>
    public const int WarmUp = 2;

    private readonly Stopwatch _clock = new();
    private long _seen, _measuredFrom;

    /// <summary>Measured seconds per update (null until updates after the warm-up have been timed).</summary>
    public double? SecondsPerUpdate { get; private set; }

    public void Updated(UpdateReport r)
    {
        _seen++;
        if (_seen == WarmUp)
        {
            _clock.Restart();
            _measuredFrom = r.Done;
        }
        else if (_seen > WarmUp && r.Done > _measuredFrom)
            SecondsPerUpdate = _clock.Elapsed.TotalSeconds / (r.Done - _measuredFrom);
        if (r.Logged is null) return;
        progress(new JobProgress(r.Done, r.Total, SecondsPerUpdate is { } pace ? $"{r.Status} · {Pace(pace, r.Total)}" : r.Status));
    }

    public void Working(long done, long total, string what) => progress(new JobProgress(done, total, what));

    /// <summary>"0.82 s/update, about 8.2 min in all".</summary>
    public static string Pace(double secondsPerUpdate, long total)
    {
        var all = secondsPerUpdate * total;
        var estimate = all < 120 ? $"{all:F0} s" : all < 7200 ? $"{all / 60:F1} min" : $"{all / 3600:F1} h";
        return $"{secondsPerUpdate:0.###} s/update, about {estimate} in all";
    }
}
