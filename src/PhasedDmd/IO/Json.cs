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
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        // A misspelt key in a config or mixture file is an error, not a silently ignored setting.
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

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
