using System.Text.Json;
using System.Text.Json.Serialization;

namespace PhasedDmd.IO;

/// <summary>The project's JSON settings: camelCase, indented, enums as strings, comments allowed.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        // A misspelt key in a config or mixture file is an error, not a silently ignored setting.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>
    /// The settings of every metrics output (<c>eval</c>'s JSON, <c>compare.json</c>, the demo's
    /// <c>report.json</c>, <c>bench.json</c>): keys in snake_case (<c>mode_coverage</c>,
    /// <c>weight_tv</c>, …) as documented in the README's command reference; run configs and model cards keep camelCase.
    /// </summary>
    public static readonly JsonSerializerOptions MetricsOptions = new(Options) { PropertyNamingPolicy = new MetricsNaming() };

    /// <summary>snake_case that keeps unit and product names whole: <c>PeakRssMiB</c> → <c>peak_rss_mib</c>, <c>PyTorch</c> → <c>pytorch</c>.</summary>
    private sealed class MetricsNaming : JsonNamingPolicy
    {
        public override string ConvertName(string name) => SnakeCaseLower.ConvertName(name.Replace("MiB", "Mib").Replace("PyTorch", "Pytorch"));
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Serialises a metrics output with snake_case keys.</summary>
    public static string SerializeMetrics<T>(T value) => JsonSerializer.Serialize(value, MetricsOptions);

    /// <summary>Writes a metrics output (snake_case keys) atomically.</summary>
    public static void WriteMetrics<T>(string path, T value) => AtomicFile.WriteAllText(path, SerializeMetrics(value));

    /// <summary>Parses JSON text into T; any problem becomes an <see cref="InputException"/>.</summary>
    public static T Parse<T>(string text, string what)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(text, Options) ?? throw new InputException($"{what} is empty");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException
                                       or ArgumentException or FormatException or OverflowException)
        {
            throw new InputException($"{what} is malformed: {ModelDirectory.FirstLine(e.Message)}");
        }
    }

    /// <summary>Reads a JSON file into T; any problem becomes an <see cref="InputException"/> naming the file.</summary>
    public static T Read<T>(string path, string what)
    {
        if (!File.Exists(path)) throw new InputException($"{what} not found: {path}");
        return Parse<T>(File.ReadAllText(path), $"{what} {path}");
    }

    public static void Write<T>(string path, T value) => AtomicFile.WriteAllText(path, Serialize(value));
}
