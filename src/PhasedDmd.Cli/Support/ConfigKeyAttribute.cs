namespace PhasedDmd.Cli.Support;

/// <summary>
/// Marks a command-line option as the setting of one config key: <see cref="ConfigOverlay"/> copies
/// its value onto the run's config record, so an option needs no hand-written copy per field.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ConfigKeyAttribute(string key) : Attribute
{
    /// <summary>The key as written in the config's JSON (camelCase).</summary>
    public string Key { get; } = key;
}
