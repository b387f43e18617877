using Spectre.Console.Cli;

namespace PhasedDmd.Cli;

/// <summary>One command of the tool: its name, settings, description and examples, and how it is registered.</summary>
internal sealed record CliCommand(string Name, Type Settings, string Description, IReadOnlyList<string[]> Examples, bool Hidden, Action<IConfigurator> Register)
{
    public static CliCommand Of<TCommand, TSettings>(string name, string description, params string[][] examples)
        where TCommand : class, ICommand<TSettings>
        where TSettings : CommandSettings
        => new(name, typeof(TSettings), description, examples, Hidden: false, config =>
        {
            var c = config.AddCommand<TCommand>(name).WithDescription(description);
            foreach (var e in examples) c.WithExample([name, .. e]);
        });

    public static CliCommand Of<TCommand, TSettings>(string name, string description, bool hidden)
        where TCommand : class, ICommand<TSettings>
        where TSettings : CommandSettings
        => new(name, typeof(TSettings), description, [], hidden, config =>
        {
            var c = config.AddCommand<TCommand>(name);
            if (hidden) c.IsHidden();
        });
}
