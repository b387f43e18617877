namespace PhasedDmd;

/// <summary>
/// Bad input from a user (a config, a mixture file, a model directory): the command line
/// prints its message as one line and exits with code 2. The message names the field.
/// </summary>
public sealed class InputException(string message, Exception? inner = null) : Exception(OneLine(message), inner)
{
    /// <summary>Control characters (newlines included) are shown escaped so the message stays on one line.</summary>
    private static string OneLine(string message)
        => string.Concat(message.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
