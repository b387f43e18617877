using System.ComponentModel;
using PhasedDmd.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class ExportSettings : CommandSettings
{
    [CommandOption("--model <DIR>")]
    [Description("Student model directory (written by distill).")]
    public string Model { get; init; } = "";

    [CommandOption("--out <DIR>")]
    [Description("Output directory (new or empty): the experts, student.json and sample_student.py.")]
    public string Out { get; init; } = "";

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(Model) || string.IsNullOrWhiteSpace(Out)
            ? ValidationResult.Error("--model DIR and --out DIR are required") : ValidationResult.Success();
}

/// <summary>Writes a student as files PyTorch reads: its experts, student.json and a reference sampler.</summary>
public sealed class ExportCommand : Command<ExportSettings>
{
    public override int Execute(CommandContext context, ExportSettings s, CancellationToken cancellationToken)
    {
        var m = StudentExport.Export(s.Model, s.Out);
        var kind = m.Experts[0].EndsWith(".pt") ? "TorchScript" : "safetensors weights";
        AnsiConsole.MarkupLine("[green]exported[/] " + Markup.Escape($"{m.Method} student ({m.StepTimes.Length - 1} steps, {m.Experts.Length} experts as {kind}) to {s.Out}"));
        if (m.Network.SampledByExportedScript)
            AnsiConsole.MarkupLine(Markup.Escape($"sample it in PyTorch: python3 {Path.Combine(s.Out, StudentExport.SamplerFile)} --n 1000 --out samples.csv"));
        return 0;
    }
}
