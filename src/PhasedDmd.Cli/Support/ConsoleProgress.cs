using PhasedDmd.Training;
using Spectre.Console;

namespace PhasedDmd.Cli.Support;

/// <summary>A Spectre.Console progress bar around a long job that reports <see cref="JobProgress"/>.</summary>
public static class ConsoleProgress
{
    /// <param name="show">False runs the job without a bar (the ranks other than 0 of a data-parallel run).</param>
    public static T Run<T>(string description, Func<Action<JobProgress>, T> work, bool show = true)
    {
        if (!show) return work(_ => { });
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: 1);
                result = work(p =>
                {
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                    task.Description = Markup.Escape($"{description} {p.Status}");
                });
                task.Value = task.MaxValue;
            });
        return result;
    }
}
