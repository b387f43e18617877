namespace PhasedDmd.Evaluation;

/// <summary>What <see cref="GlyphReader"/> reads from one image.</summary>
public sealed record GlyphReading(string Background, string Foreground, char Character, int Scale, int Top, int Left, double Match);
