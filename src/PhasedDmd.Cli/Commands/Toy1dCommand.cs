using PhasedDmd.Cli.Support;
using System.ComponentModel;
using PhasedDmd.Experiments;
using PhasedDmd.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class Toy1dSettings : CommandSettings
{
    [CommandOption("--mixture <FILE>")]
    [Description("1D mixture JSON (default: the paper's points -1, 0, 1, 2).")]
    public string? Mixture { get; init; }

    [CommandOption("--boundary <S>")]
    [Description("Subinterval boundary s (default 0.5).")]
    public double? Boundary { get; init; }

    [CommandOption("--iterations <N>")]
    [Description("Training iterations per model (default 1500).")]
    public int? Iterations { get; init; }

    [CommandOption("--hidden <N>")]
    [Description("MLP width (default 256; the paper uses 512).")]
    public int? Hidden { get; init; }

    [CommandOption("--seed <N>")]
    public int? Seed { get; init; }

    [CommandOption("--threads <N>")]
    public int? Threads { get; init; }

    [CommandOption("--config <FILE>")]
    [Description("A toy1d config JSON (e.g. a previous run_config.json).")]
    public string? Config { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("Output directory (required).")]
    public string Out { get; init; } = "";

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out DIR is required") : ValidationResult.Success();
}

/// <summary>The paper's Fig. 2: subinterval vs naive score matching against exact trajectories.</summary>
public sealed class Toy1dCommand : Command<Toy1dSettings>
{
    public override int Execute(CommandContext context, Toy1dSettings settings, CancellationToken cancellationToken)
    {
        var c = settings.Config is null ? new Toy1dConfig() : Json.Read<Toy1dConfig>(settings.Config, "config");
        c = c with
        {
            MixtureFile = settings.Mixture ?? c.MixtureFile,
            Boundary = settings.Boundary ?? c.Boundary,
            Iterations = settings.Iterations ?? c.Iterations,
            Hidden = settings.Hidden ?? c.Hidden,
            Seed = settings.Seed ?? c.Seed,
            Threads = settings.Threads ?? c.Threads,
        };
        c.Validate();
        var result = ConsoleProgress.Run("toy1d", p => Toy1d.Run(c, settings.Out, p));
        var table = new Table().Title($"mean |x − exact| over {result.Trajectories} trajectories")
            .AddColumn("model").AddColumn(new TableColumn($"at t = {result.Boundary:0.###}").RightAligned()).AddColumn(new TableColumn("along the path").RightAligned());
        foreach (var (name, e) in result.Models) table.AddRow(name, $"{e.AtBoundary:F4}", $"{e.AlongPath:F4}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(settings.Out)} in {result.Seconds:F0} s");
        return 0;
    }
}
