using PhasedDmd.Cli.Support;
using System.ComponentModel;
using PhasedDmd.Experiments;
using PhasedDmd.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class CompareSettings : CommandSettings
{
    [CommandOption("--teacher <DIR>")]
    [Description("Teacher model directory: an analytic task (ring8, grid9, ...), any point teacher with --mixture, or a glyphs / motion / motion-free DiT teacher (evaluated on its prompt grid), or a fashion-mnist teacher (evaluated against the real test images).")]
    public string Teacher { get; init; } = "";

    [CommandOption("--mixture <FILE>")]
    [Description("Score every method against this Gaussian mixture (JSON as for train-teacher) instead of the task's own; e.g. for a teacher imported from TorchScript, whose task has none.")]
    public string? Mixture { get; init; }

    [CommandOption("--seeds <N>")]
    [Description("Seeds per method (default 3).")]
    public int Seeds { get; init; } = 3;

    [CommandOption("--iterations-per-phase <N>")]
    [Description("Generator updates per phase of phased (2 phases); single-expert methods get twice as many, 4 phases half as many. Default: the teacher's distillation default (1000 for point teachers, 300 for DiT and other large-sample teachers).")]
    public int? IterationsPerPhase { get; init; }

    [CommandOption("--per-class <N>")]
    [Description("fashion-mnist: samples per class of every model's evaluation grid (default 100).")]
    public int? PerClass { get; init; }

    [CommandOption("--config <FILE>")]
    [Description("Base distillation config JSON shared by every method (learning rates, loss, ...).")]
    public string? Config { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("Output directory (required): compare.md, compare.json, one scatter plot per method.")]
    public string Out { get; init; } = "";

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Teacher)) return ValidationResult.Error("--teacher DIR is required");
        if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out DIR is required");
        if (Seeds < 1) return ValidationResult.Error("--seeds must be ≥ 1");
        if (IterationsPerPhase is < 1) return ValidationResult.Error("--iterations-per-phase must be ≥ 1");
        if (PerClass is < 4) return ValidationResult.Error("--per-class must be ≥ 4");
        return ValidationResult.Success();
    }
}

/// <summary>Teacher vs dmd, fewstep, sgts, phased and its two ablations, over several seeds.</summary>
public sealed class CompareCommand : Command<CompareSettings>
{
    public override int Execute(CommandContext context, CompareSettings s, CancellationToken cancellationToken)
    {
        var card = ModelDirectory.ReadCard(s.Teacher);
        if (PhasedDmd.Data.TaskRegistry.TryFind(card.Task.Name) is PhasedDmd.Evaluation.IClassImageTask images)
        {
            if (s.Mixture is not null) throw new InputException($"--mixture: {images.Name} teachers are scored against the real test images, not a mixture");
            var imageSettings = GridSettings(s, card);
            var imageRows = ConsoleProgress.Run("compare", p => ClassImageComparison.Run(s.Teacher, imageSettings, s.Out, s.PerClass, p, w => Console.Error.WriteLine($"warning: {w}")));
            AnsiConsole.WriteLine(ClassImageComparison.Markdown(images, imageRows));
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.Combine(s.Out, "compare.md"))} and one grid picture per method");
            return 0;
        }
        if (PhasedDmd.Data.TaskRegistry.TryFind(card.Task.Name) is PhasedDmd.Evaluation.IPromptGridTask task)
        {
            if (s.Mixture is not null) throw new InputException($"--mixture: {task.Name} teachers are scored on their prompt grid, not against a mixture");
            var grid = GridSettings(s, card);
            var gridRows = ConsoleProgress.Run("compare", p => PromptGridComparison.Run(s.Teacher, grid, s.Out, p, w => Console.Error.WriteLine($"warning: {w}")));
            AnsiConsole.WriteLine(PromptGridComparison.Markdown(task, gridRows));
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.Combine(s.Out, "compare.md"))}");
            return 0;
        }
        if (card.Task.Mixture is null && s.Mixture is null)
            throw new InputException($"--teacher: task '{card.Task.Name}' has no exact distribution to compare with; give one with --mixture FILE");
        if (s.Mixture is not null) PhasedDmd.Data.GaussianMixture.Load(s.Mixture);   // a malformed file fails before any training
        var baseConfig = s.Config is null ? Defaults(card) : Json.Read<Distillation.DistillConfig>(s.Config, "config");
        var settings = new ComparisonSettings
        {
            MixtureFile = s.Mixture is null ? null : Path.GetFullPath(s.Mixture),
            Seeds = s.Seeds,
            IterationsPerPhase = s.IterationsPerPhase ?? Distillation.DistillConfig.ForTeacher(card).IterationsPerPhase,
            Base = baseConfig,
        };
        foreach (var entry in MethodComparison.StandardEntries(settings)) entry.Config?.Validate();
        var rows = ConsoleProgress.Run("compare", p => MethodComparison.Run(s.Teacher, settings, s.Out, progress: p,
            warn: w => Console.Error.WriteLine($"warning: {w}")));
        AnsiConsole.WriteLine(MethodComparison.Markdown(rows));
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.Combine(s.Out, "compare.md"))}");
        return 0;
    }

    /// <summary>The teacher's distillation defaults without the validation monitor: a comparison measures every student when it is done, and times the methods.</summary>
    private static Distillation.DistillConfig Defaults(ModelCard card) => Distillation.DistillConfig.ForTeacher(card) with { ValidateEvery = 0 };

    /// <summary>The settings of the five-row table (teacher, dmd, sgts, phased K = 2 and 4), every entry's config checked before any work.</summary>
    private static ComparisonSettings GridSettings(CompareSettings s, ModelCard card)
    {
        var settings = new ComparisonSettings
        {
            Seeds = s.Seeds,
            IterationsPerPhase = s.IterationsPerPhase ?? Distillation.DistillConfig.ForTeacher(card).IterationsPerPhase,
            Base = s.Config is null ? Defaults(card) : Json.Read<Distillation.DistillConfig>(s.Config, "config"),
        };
        foreach (var entry in PromptGridComparison.StandardEntries(settings, settings.Base)) entry.Config?.Validate();
        return settings;
    }
}
