namespace PhasedDmd.Data;

/// <summary>The true attributes of one glyph image: what the prompt names and what it leaves free.</summary>
public sealed record GlyphAttributes(char Character, string Foreground, string Background, int Scale, int Top, int Left);
