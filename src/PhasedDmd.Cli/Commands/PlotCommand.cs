using System.ComponentModel;
using PhasedDmd.IO;
using PhasedDmd.Plotting;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class PlotSettings : CommandSettings
{
    [CommandArgument(0, "<RUN_DIR>")]
    [Description("A run directory of train-teacher or distill (finished or not): its train_log.csv is drawn.")]
    public string RunDir { get; init; } = "";

    [CommandOption("--out <FILE>")]
    [Description("The PNG to write (default: RUN_DIR/curves.png).")]
    public string? Out { get; init; }

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(RunDir) ? ValidationResult.Error("RUN_DIR is required") : ValidationResult.Success();
}

/// <summary>Draws the losses and validation curves of a run to a PNG (distill and train-teacher also write it when they finish).</summary>
public sealed class PlotCommand : Command<PlotSettings>
{
    public override int Execute(CommandContext context, PlotSettings settings, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(settings.RunDir)) throw new InputException($"RUN_DIR: {settings.RunDir} is not a directory");
        var output = settings.Out ?? Path.Combine(settings.RunDir, RunCurves.DefaultFile);
        var panels = RunCurves.Save(Path.Combine(settings.RunDir, ModelDirectory.LogFile), output, Path.GetFileName(Path.TrimEndingDirectorySeparator(settings.RunDir)));
        AnsiConsole.MarkupLine($"wrote {panels} panel(s) to {Markup.Escape(output)}");
        return 0;
    }
}
