using System.ComponentModel;
using PhasedDmd.Experiments;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class DemoSettings : CommandSettings
{
    [CommandOption("--out <DIR>")]
    [Description("Output directory (default runs/demo). Running again into the same directory reuses finished distillations and resumes interrupted ones.")]
    public string Out { get; init; } = Path.Combine("runs", "demo");

    [CommandOption("--seed <N>")]
    [Description("Random seed of every distillation and of the evaluation noises (default 0).")]
    public int Seed { get; init; }

    [CommandOption("--quick")]
    [Description("The same steps with fewer iterations and samples (about 3 minutes on 2 cores instead of about 15).")]
    public bool Quick { get; init; }

    [CommandOption("--from-scratch")]
    [Description("Also train the ring8, glyphs and motion-free teachers (about 42 more minutes on 2 cores) instead of using the shipped ones in assets/teachers.")]
    public bool FromScratch { get; init; }

    [CommandOption("--threads <N>")]
    [Description("libtorch intra-op threads (default 2).")]
    public int Threads { get; init; } = 2;

    [CommandOption("--device <DEVICE>")]
    [Description("cpu, cuda or cuda:N (needs a CUDA build of libtorch). Default: cpu.")]
    public string Device { get; init; } = "cpu";
}

/// <summary>
/// The main job: distils the shipped teachers with every method, runs the paper's studies in
/// miniature, and writes runs/demo/report.md and report.json (see <see cref="Demo"/>).
/// </summary>
public sealed class DemoCommand : Command<DemoSettings>
{
    public override int Execute(CommandContext context, DemoSettings settings, CancellationToken cancellationToken)
    {
        var config = (settings.Quick ? DemoConfig.QuickRun(settings.Seed) : DemoConfig.Default(settings.Seed))
                     with { FromScratch = settings.FromScratch, Threads = settings.Threads, Device = settings.Device };
        var warnings = new List<string>();
        DemoReport report = null!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var overall = ctx.AddTask("demo", maxValue: 1);
                ProgressTask? current = null;
                var currentPart = 0;
                report = Demo.Run(config, settings.Out, p =>
                {
                    overall.MaxValue = p.Parts;
                    overall.Value = p.Part - 1;
                    overall.Description = Markup.Escape($"demo: part {p.Part}/{p.Parts}");
                    if (p.Part != currentPart)
                    {
                        if (current is not null) current.Value = current.MaxValue;
                        current = ctx.AddTask(Markup.Escape(p.Name), maxValue: 1);
                        currentPart = p.Part;
                    }
                    current!.MaxValue = Math.Max(1, p.Inner.Total);
                    current.Value = Math.Min(p.Inner.Done, current.MaxValue);
                    current.Description = Markup.Escape($"{p.Name} {p.Inner.Status}".TrimEnd());
                }, warnings.Add);
                if (current is not null) current.Value = current.MaxValue;
                overall.Value = overall.MaxValue;
            });
        foreach (var w in warnings) Console.Error.WriteLine($"warning: {w}");
        var table = new Table().Title("what reproduces").AddColumn("claim").AddColumn("measured").AddColumn("holds");
        foreach (var c in report.Claims) table.AddRow(Markup.Escape(c.Claim), Markup.Escape(c.Evidence), c.Holds ? "[green]yes[/]" : "[red]no[/]");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"demo finished in {report.Seconds / 60:0.0} min; report in {Markup.Escape(Path.Combine(settings.Out, "report.md"))} and report.json");
        return 0;
    }
}
