using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Spectre.Console.Rendering;

namespace PhasedDmd.Cli.Support;

/// <summary>Spectre's help, with a description of the tool itself on the root page (Spectre has none there).</summary>
public sealed class PhasedDmdHelp(ICommandAppSettings settings) : HelpProvider(settings)
{
    public const string About =
        "Phased DMD: distil a many-step flow-matching or diffusion teacher into a fast few-step student made of one expert per SNR phase, " +
        "with the baselines (one-step DMD, few-step DMD, SGTS) and evaluations against exact distributions.";

    public override IEnumerable<IRenderable> GetDescription(ICommandModel model, ICommandInfo? command)
        => command is null
            ? [new Markup("[yellow]DESCRIPTION:[/]"), Text.NewLine, new Text(About), Text.NewLine, Text.NewLine]
            : base.GetDescription(model, command);
}
