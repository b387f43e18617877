namespace PhasedDmd;

/// <summary>
/// Bad input from a user (a config, a mixture file, a model directory): the command line
/// prints its message as one line and exits with code 2. The message names the field.
/// </summary>
public sealed class InputException(string message, Exception? inner = null) : Exception(message, inner);
