using System.ComponentModel;
using PhasedDmd.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class MergeLoraSettings : CommandSettings
{
    [CommandOption("--model <DIR>")]
    [Description("A student model directory with LoRA experts.")]
    public string Model { get; init; } = "";

    [CommandOption("--out <DIR>")]
    [Description("Output student directory with plain (merged) experts.")]
    public string Out { get; init; } = "";

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(Model) || string.IsNullOrWhiteSpace(Out)
            ? ValidationResult.Error("--model DIR and --out DIR are required") : ValidationResult.Success();
}

/// <summary>Exports a LoRA student as plain weights (W + (α/r) B A per layer).</summary>
public sealed class MergeLoraCommand : Command<MergeLoraSettings>
{
    public override int Execute(CommandContext context, MergeLoraSettings settings, CancellationToken cancellationToken)
    {
        var (card, student) = StudentDirectory.Load(settings.Model);
        using (student)
        using (var merged = student.Merged(card.Network))
            StudentDirectory.Save(settings.Out, card with { Student = merged.Spec }, merged);
        AnsiConsole.MarkupLine($"wrote merged student to {Markup.Escape(settings.Out)}");
        return 0;
    }
}
