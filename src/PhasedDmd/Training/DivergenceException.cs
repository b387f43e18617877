namespace PhasedDmd.Training;

/// <summary>A run that stopped itself because its losses or gradients stayed non-finite.</summary>
public sealed class DivergenceException(string message) : Exception(message);
