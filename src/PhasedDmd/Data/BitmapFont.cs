namespace PhasedDmd.Data;

/// <summary>
/// A 5×7 bitmap font for the characters the <c>glyphs</c> task renders: the ten digits and
/// a few letters. Each glyph is 7 rows of 5 columns ('#' = ink).
/// </summary>
public static class BitmapFont
{
    public const int Width = 5;
    public const int Height = 7;

    private static readonly Dictionary<char, string[]> Glyphs = new()
    {
        ['0'] = [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
        ['1'] = ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
        ['2'] = [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
        ['3'] = ["####.", "....#", "....#", ".###.", "....#", "....#", "####."],
        ['4'] = ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
        ['5'] = ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
        ['6'] = ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
        ['7'] = ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
        ['8'] = [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
        ['9'] = [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
        ['A'] = [".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
        ['E'] = ["#####", "#....", "#....", "####.", "#....", "#....", "#####"],
        ['H'] = ["#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
        ['K'] = ["#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"],
        ['X'] = ["#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"],
    };

    /// <summary>The characters the font can draw, in a fixed order (their index is the class id).</summary>
    public static IReadOnlyList<char> Characters { get; } = Glyphs.Keys.ToArray();

    /// <summary>Whether pixel (row, column) of the character's 5×7 cell is ink.</summary>
    public static bool Ink(char c, int row, int column)
    {
        if (!Glyphs.TryGetValue(c, out var rows)) throw new ArgumentException($"the font has no glyph for '{c}'", nameof(c));
        return rows[row][column] == '#';
    }

    /// <summary>The glyph as a Height × Width boolean mask.</summary>
    public static bool[,] Mask(char c)
    {
        var mask = new bool[Height, Width];
        for (var r = 0; r < Height; r++)
            for (var col = 0; col < Width; col++)
                mask[r, col] = Ink(c, r, col);
        return mask;
    }
}
