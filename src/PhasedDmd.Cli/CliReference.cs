using System.ComponentModel;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli;

/// <summary>
/// The option tables of docs/cli.md, generated from the commands' settings classes (the same attributes
/// that make <c>--help</c>), so the reference cannot drift from the tool. Each table sits between
/// <c>&lt;!-- options: NAME --&gt;</c> and <c>&lt;!-- /options --&gt;</c>; the prose around them is hand-written.
/// </summary>
internal static partial class CliReference
{
    /// <summary>The options of a settings class in the order <c>--help</c> shows them (base classes first).</summary>
    public static IReadOnlyList<(string Option, string Description)> Options(Type settings)
    {
        var chain = new List<Type>();
        for (var t = settings; t is not null && t != typeof(CommandSettings); t = t.BaseType) chain.Insert(0, t);
        var options = new List<(string, string)>();
        foreach (var type in chain)
            foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                if (p.GetCustomAttribute<CommandArgumentAttribute>() is { } argument)
                {
                    options.Add((argument.IsRequired ? $"<{argument.ValueName}>" : $"[{argument.ValueName}]", Markup.Remove(p.GetCustomAttribute<DescriptionAttribute>()?.Description ?? "")));
                    continue;
                }
                if (p.GetCustomAttribute<CommandOptionAttribute>() is not { IsHidden: false } option) continue;
                var names = option.ShortNames.Select(n => "-" + n).Concat(option.LongNames.Take(1).Select(n => "--" + n));   // help shows the first long name
                var value = option.ValueName is { } v ? $" <{v}>" : "";
                var description = p.GetCustomAttribute<DescriptionAttribute>()?.Description ?? "";
                options.Add((string.Join(", ", names) + value, Markup.Remove(description)));
            }
        return options;
    }

    /// <summary>The markdown table of one command's options.</summary>
    public static string Table(CliCommand command)
    {
        var sb = new StringBuilder();
        sb.Append("| option | description |\n|---|---|\n");
        foreach (var (option, description) in Options(command.Settings))
            sb.Append($"| `{option}` | {Escape(description)} |\n");
        return sb.ToString();
    }

    /// <summary><paramref name="markdown"/> with every generated block rewritten from the commands; an unknown command name is an error.</summary>
    public static string Update(string markdown) => Block().Replace(markdown, m =>
    {
        var name = m.Groups["name"].Value;
        var command = PhasedDmdApp.Commands.FirstOrDefault(c => c.Name == name && !c.Hidden)
                      ?? throw new InvalidOperationException($"docs/cli.md: no command '{name}'");
        return $"<!-- options: {name} -->\n{Table(command)}<!-- /options -->";
    });

    /// <summary>The command names that have a generated block in <paramref name="markdown"/>.</summary>
    public static IReadOnlyList<string> Documented(string markdown) => Block().Matches(markdown).Select(m => m.Groups["name"].Value).ToList();

    private static string Escape(string text) => text.Replace("|", "\\|").Replace("<", "&lt;").Replace(">", "&gt;");

    [GeneratedRegex(@"<!-- options: (?<name>[a-z0-9-]+) -->\n.*?<!-- /options -->", RegexOptions.Singleline)]
    private static partial Regex Block();
}
