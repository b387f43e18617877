namespace PhasedDmd.IO;

/// <summary>One file of a checkpoint as recorded in its manifest.</summary>
public sealed record ManifestEntry(string Name, long Size, string Sha256);
