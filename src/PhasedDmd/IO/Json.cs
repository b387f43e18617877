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
    };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Reads a JSON file into T; any problem becomes an <see cref="InputException"/> naming the file.</summary>
    public static T Read<T>(string path, string what)
    {
        if (!File.Exists(path)) throw new InputException($"{what} not found: {path}");
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Options)
                   ?? throw new InputException($"{what} {path} is empty");
        }
        catch (JsonException e)
        {
            throw new InputException($"{what} {path} is malformed: {e.Message}");
        }
    }

    public static void Write<T>(string path, T value) => AtomicFile.WriteAllText(path, Serialize(value));
}
