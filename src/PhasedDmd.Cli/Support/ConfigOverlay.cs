using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using PhasedDmd.IO;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Support;

/// <summary>
/// Lays command-line settings over a config record: every option marked with
/// <see cref="ConfigKeyAttribute"/> that was given, then every <c>--set key=value</c>, each checked
/// against the key's type, with errors that name the option and the key.
/// </summary>
public static class ConfigOverlay
{
    public static T Apply<T>(T config, CommandSettings settings, IEnumerable<string>? sets = null)
    {
        var node = JsonNode.Parse(Json.Serialize(config))!.AsObject();
        var keys = KeyTypes<T>();
        foreach (var property in settings.GetType().GetProperties())
        {
            if (property.GetCustomAttribute<ConfigKeyAttribute>() is not { } attribute || property.GetValue(settings) is not { } value) continue;
            var option = property.GetCustomAttribute<CommandOptionAttribute>()?.LongNames.FirstOrDefault() is { } name ? $"--{name}" : attribute.Key;
            node[attribute.Key] = Convert(attribute.Key, keys[attribute.Key], value, option);
        }
        foreach (var set in sets ?? [])
        {
            var at = set.IndexOf('=');
            if (at <= 0) throw new InputException($"--set: expected key=value (got '{set}')");
            var key = set[..at].Trim();
            if (!keys.TryGetValue(key, out var type))
                throw new InputException($"--set: unknown config key '{key}' (keys: {string.Join(", ", keys.Keys.Order(StringComparer.Ordinal))})");
            node[key] = Convert(key, type, set[(at + 1)..].Trim(), $"--set {key}");
        }
        return Json.Parse<T>(node.ToJsonString(Json.Options), "config");
    }

    /// <summary>The config's keys (as in its JSON) and their types.</summary>
    public static Dictionary<string, Type> KeyTypes<T>()
        => typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is not { Condition: System.Text.Json.Serialization.JsonIgnoreCondition.Always })
            .ToDictionary(p => Json.Options.PropertyNamingPolicy!.ConvertName(p.Name), p => p.PropertyType);

    /// <summary>
    /// A value for a key of type <paramref name="type"/>: typed option values as they are; text
    /// (from <c>--set</c> or a text option) as JSON when it parses as the key's type, else as a JSON
    /// string (enums, names), and comma-separated lists for array keys.
    /// </summary>
    private static JsonNode? Convert(string key, Type type, object value, string option)
    {
        JsonNode? node = value switch
        {
            string text when type.IsArray && !text.TrimStart().StartsWith('[') => new JsonArray(text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? (JsonNode?)JsonValue.Create(d) : JsonValue.Create(v)).ToArray()),
            string text => ParseText(text, type),
            _ => JsonSerializer.SerializeToNode(value, value.GetType(), Json.Options),
        };
        try
        {
            JsonSerializer.Deserialize(node?.ToJsonString() ?? "null", type, Json.Options);
            return node;
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            if (node is JsonArray items && items.FirstOrDefault(i => i is JsonValue v && v.GetValueKind() == JsonValueKind.String) is { } bad)
                throw new InputException($"{option}: '{bad.GetValue<string>()}' is not a number");
            var what = (Nullable.GetUnderlyingType(type) ?? type).IsEnum ? "unknown value" : $"not a valid value of {key}:";
            throw new InputException($"{option}: {what} '{value}' ({Describe(type)})");
        }
    }

    private static JsonNode? ParseText(string text, Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (text == "null" && (Nullable.GetUnderlyingType(type) is not null || !type.IsValueType)) return null;   // back to the default (null keys only)
        if (target == typeof(string) || target.IsEnum) return JsonValue.Create(text);
        try { return JsonNode.Parse(text); }
        catch (JsonException) { return JsonValue.Create(text); }
    }

    private static string Describe(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target.IsEnum)
            return "expected " + string.Join(", ", Enum.GetValues(target).Cast<object>().Select(v => JsonSerializer.Serialize(v, target, Json.Options).Trim('"')));
        if (target == typeof(int) || target == typeof(long)) return "expected a whole number";
        if (target == typeof(double)) return "expected a number";
        if (target == typeof(bool)) return "expected true or false";
        if (target.IsArray) return "expected a comma-separated list";
        return $"expected {target.Name}";
    }
}
