using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using PhasedDmd.Cli;
using PhasedDmd.Cli.Support;
using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Distillation;
using PhasedDmd.Evaluation;
using Spectre.Console.Cli;

namespace PhasedDmd.Tests.Docs;

/// <summary>
/// Checks a documented <c>phased-dmd …</c> command against the real command definitions without running it: the
/// command exists, every option exists and gets a value when it takes one, the settings' own validation passes
/// (required options), closed-set values are valid, distillation and teacher options make a valid config, and
/// <c>--out</c> does not point into <c>assets/</c> (which holds the shipped models). A usage synopsis
/// (<c>[--seed N]</c>, <c>a|b</c>, <c>FILE</c>) is checked for its option names and every listed alternative.
/// </summary>
internal static partial class DocCommand
{
    /// <summary>The marker of a documented command that cannot be checked, with its reason: <c># unchecked: …</c>.</summary>
    public const string UncheckedMarker = "# unchecked:";

    /// <summary>Appended to a span of prose that names a command without options: only the name is checked.</summary>
    public const string ReferenceMarker = "# (a reference to the command)";

    /// <summary>
    /// The commands of a markdown file: (line number, the command) for every fenced-code line that runs phased-dmd (its
    /// continuation lines joined) and every inline code span of prose that starts with <c>phased-dmd</c> and gives
    /// options (a span naming only a command, <c>`phased-dmd compare`</c>, is a reference to it, and only its name is checked).
    /// </summary>
    public static IEnumerable<(int Line, string Command)> Extract(string markdown)
    {
        var lines = markdown.Split('\n');
        var fenced = false;
        var prose = new StringBuilder();
        var lineOf = new List<int>();   // the line of every character of the prose
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal)) { fenced = !fenced; continue; }
            if (fenced) continue;
            prose.Append(lines[i]).Append('\n');
            lineOf.AddRange(Enumerable.Repeat(i + 1, lines[i].Length + 1));
        }
        foreach (Match m in InlineCommand().Matches(prose.ToString()))
        {
            var command = Regex.Replace(m.Groups["command"].Value, @"\s+", " ").Trim();
            yield return (lineOf[m.Index], command.Contains(" -", StringComparison.Ordinal) ? command : $"{command} {ReferenceMarker}");
        }
        fenced = false;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal)) { fenced = !fenced; continue; }
            if (!fenced || !Invocation().IsMatch(StripComment(lines[i]))) continue;
            var start = i;
            var text = new StringBuilder(lines[i].TrimEnd());
            // a shell continuation (\), or a synopsis's indented next line of [options]
            while (i + 1 < lines.Length && (text.Length > 0 && text[^1] == '\\'
                                            || lines[i + 1].StartsWith(' ') && lines[i + 1].TrimStart() is ['[', ..] or ['-', '-', ..]))
            {
                if (text[^1] == '\\') text.Length--;
                text.Append(' ').Append(lines[++i].Trim());
            }
            yield return (start + 1, text.ToString().Trim());
        }
    }

    /// <summary>Null when the command checks out; otherwise what is wrong, in one line.</summary>
    public static string? Check(string line)
    {
        var tokens = Tokenize(StripComment(line));
        var at = tokens.FindIndex(t => t == "phased-dmd" || t.EndsWith("/phased-dmd", StringComparison.Ordinal) || t.EndsWith("phased-dmd.dll", StringComparison.Ordinal));
        if (at < 0 && tokens.IndexOf("--") is var dash and > 0 && tokens.Take(dash).Any(t => t.Contains("PhasedDmd.Cli", StringComparison.Ordinal))) at = dash;
        if (at < 0) return "no phased-dmd invocation found";
        var synopsis = tokens.Any(a => a.Contains('[') || a.Contains(']'));
        var args = tokens.Skip(at + 1).Where(t => !(synopsis && t == "|"))   // in a synopsis, "a | b" are alternatives, not a pipe
            .TakeWhile(t => t is not ("|" or "||" or "&&" or ";" or "&" or ">" or ">>" or "2>" or "2>&1")).ToList();
        if (args.Count == 0) return "no command";
        if (args[0] is "--version" or "--help" or "-h") return null;
        if (args.Count == 2 && args[1] is "--help" or "-h" && args[0] == "<command>") return null;   // the help of any command
        var command = PhasedDmdApp.Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null) return $"unknown command '{args[0]}'";
        if (line.EndsWith(ReferenceMarker, StringComparison.Ordinal)) return null;
        args = [.. args.Skip(1).Select(a => a.Trim('[', ']')).Where(a => a.Length > 0)];
        var options = Options(command.Settings);
        var settings = (CommandSettings)Activator.CreateInstance(command.Settings)!;
        var lists = new Dictionary<PropertyInfo, List<string>>();
        var positional = new Queue<PropertyInfo>(command.Settings.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttribute<CommandArgumentAttribute>() is not null)
            .OrderBy(p => p.GetCustomAttribute<CommandArgumentAttribute>()!.Position));
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-') && positional.TryDequeue(out var argument))
            {
                if (Set(settings, argument, arg, lists) is { } wrong) return $"{command.Name}: {arg}: {wrong}";
                continue;
            }
            if (!arg.StartsWith('-')) return $"{command.Name}: unexpected argument '{arg}'";
            if (!options.TryGetValue(arg.TrimStart('-'), out var option)) return $"{command.Name}: unknown option '{arg}'";
            var (property, takesValue) = option;
            if (!takesValue) { property.SetValue(settings, true); continue; }
            if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal)) return $"{command.Name}: {arg} needs a value";
            var value = args[++i];
            if (synopsis && value.IndexOf('[') is var optional and > 0) value = value[..optional];   // cuda[:N], D1[,D2,...]
            var placeholder = synopsis && value.Contains('|') || Placeholder().IsMatch(value);
            foreach (var alternative in value.Split('|'))
                if (!Placeholder().IsMatch(alternative) && ClosedSetError(command.Name, arg.TrimStart('-'), alternative) is { } closed) return closed;
            if (arg.TrimStart('-') == "out" && value.Replace('\\', '/').TrimStart('.', '/').StartsWith("assets/", StringComparison.Ordinal))
                return $"{command.Name}: --out {value} points into assets/, which holds the shipped models (write to runs/ instead)";
            if (placeholder && property.PropertyType != typeof(string) && property.PropertyType != typeof(string[])) continue;   // N, S, W: the default stands in
            if (Set(settings, property, value, lists) is { } error) return $"{command.Name}: {arg}: {error}";
        }
        foreach (var (property, values) in lists) property.SetValue(settings, values.ToArray());
        var validation = settings.Validate();
        if (!validation.Successful) return $"{command.Name}: {validation.Message}";
        if (synopsis) return null;
        try
        {
            switch (settings)
            {
                case PhasedDmd.Cli.Commands.DistillSettings d when d.Config is null && d.Resume is null:
                    // A teacher's defaults (what distill starts from) have the validation monitor on.
                    var defaults = new DistillConfig() with { ValidateEvery = DistillConfig.DefaultValidateEvery(new DistillConfig().IterationsPerPhase) };
                    var method = ConfigOverlay.Apply(defaults, d, d.Set).Method;
                    ConfigOverlay.Apply(DistillationMethod.Find(method).Shape(defaults), d, d.Set).Validate();
                    break;
                case PhasedDmd.Cli.Commands.TrainTeacherSettings t when t.Config is null && t.Resume is null:
                    t.ToConfig().Validate();
                    break;
            }
        }
        catch (InputException e) { return $"{command.Name}: {e.Message}"; }
        return null;
    }

    /// <summary>An error for a value outside an option's closed set; null when the option has none or the value is in it.</summary>
    private static string? ClosedSetError(string command, string option, string value)
    {
        string[]? set = (command, option) switch
        {
            (_, "method") => [.. DistillationMethod.All.Select(m => m.Name)],
            ("train-encoder", "task") => [.. EncoderSpec.Tasks.Select(t => t.Name)],
            ("import-teacher", "task") => [.. TaskRegistry.All.Select(t => t.Name)],   // which ones take the model, the import checks
            (_, "task") => [.. TaskRegistry.All.OfType<PhasedDmd.Training.ITeacherTask>().Where(t => t.HasTrainingData).Select(t => t.Name)],
            (_, "prediction") => ["velocity", "x0", "epsilon", "v_prediction"],
            ("sample" or "eval", "solver") => ["euler", "heun", "ddim"],
            (_, "experts") => ["full", "lora"],
            (_, "interval") => ["nested", "disjoint"],
            (_, "truncation") => ["sgts", "full"],
            (_, "models") => null,
            _ => null,
        };
        if (option == "device") return value == "cpu" || CudaDevice().IsMatch(value) ? null : $"{command}: --device {value}: expected cpu, cuda or cuda:N";
        if (option == "prediction" && set is not null) { try { Predictions.Parse(value); return null; } catch (InputException) { } }
        return set is null || set.Contains(value) ? null : $"{command}: --{option} {value}: expected one of {string.Join(", ", set)}";
    }

    private static string? Set(CommandSettings settings, PropertyInfo property, string value, Dictionary<PropertyInfo, List<string>> lists)
    {
        var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        if (type == typeof(string[])) { (lists.TryGetValue(property, out var l) ? l : lists[property] = []).Add(value); return null; }
        if (type == typeof(string)) { property.SetValue(settings, value); return null; }
        if (type == typeof(int)) return int.TryParse(value, culture, out var i) ? Assign(i) : $"'{value}' is not a whole number";
        if (type == typeof(long)) return long.TryParse(value, culture, out var n) ? Assign(n) : $"'{value}' is not a whole number";
        if (type == typeof(double)) return double.TryParse(value, System.Globalization.NumberStyles.Float, culture, out var d) ? Assign(d) : $"'{value}' is not a number";
        return $"cannot check a value of type {type.Name}";

        string? Assign(object v)
        {
            property.SetValue(settings, v);
            return null;
        }
    }

    /// <summary>Every name of every option (long and short, without dashes) → its property and whether it takes a value.</summary>
    private static Dictionary<string, (PropertyInfo Property, bool TakesValue)> Options(Type settings)
    {
        var result = new Dictionary<string, (PropertyInfo, bool)>();
        foreach (var p in settings.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (p.GetCustomAttribute<CommandOptionAttribute>() is { } option)
                foreach (var name in option.LongNames.Concat(option.ShortNames))
                    result[name] = (p, option.ValueName is not null);
        return result;
    }

    private static string StripComment(string line)
    {
        var quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            if (quote != '\0') { if (line[i] == quote) quote = '\0'; continue; }
            if (line[i] is '"' or '\'') quote = line[i];
            else if (line[i] == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1]))) return line[..i];
        }
        return line;
    }

    private static List<string> Tokenize(string line)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        var quote = '\0';
        var any = false;
        foreach (var c in line)
        {
            if (quote != '\0') { if (c == quote) quote = '\0'; else current.Append(c); continue; }
            if (c is '"' or '\'') { quote = c; any = true; continue; }
            if (char.IsWhiteSpace(c)) { if (any || current.Length > 0) tokens.Add(current.ToString()); current.Clear(); any = false; continue; }
            current.Append(c);
        }
        if (any || current.Length > 0) tokens.Add(current.ToString());
        return tokens;
    }

    [GeneratedRegex(@"`(?<command>phased-dmd [^`]+)`")]
    private static partial Regex InlineCommand();

    [GeneratedRegex(@"(^|[\s/])phased-dmd(\.dll)?(\s|$)|PhasedDmd\.Cli\s+--\s")]
    private static partial Regex Invocation();

    /// <summary>A synopsis's placeholder value: FILE, DIR, N, STUDENT_DIR, BASE.json, FILE.csv, …</summary>
    [GeneratedRegex(@"^[A-Z][A-Z_0-9]*(\.[a-z]+)?$")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^cuda(:\d+)?$")]
    private static partial Regex CudaDevice();
}
