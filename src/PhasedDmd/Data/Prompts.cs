namespace PhasedDmd.Data;

/// <summary>
/// The closed vocabulary of the procedural tasks' prompts and a fixed-length tokenizer.
/// Token 0 is padding; a prompt of only padding is the null prompt ∅ of classifier-free
/// guidance. Words are matched case-insensitively.
/// </summary>
public sealed class PromptVocabulary
{
    public const long Pad = 0;
    private readonly Dictionary<string, long> _ids;

    public IReadOnlyList<string> Words { get; }
    public int Length { get; }

    public PromptVocabulary(IEnumerable<string> words, int length)
    {
        Words = ["<pad>", .. words.Select(w => w.ToLowerInvariant()).Distinct()];
        _ids = Words.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => (long)p.i);
        Length = length;
    }

    public int Size => Words.Count;

    /// <summary>Token ids of a prompt, padded to <see cref="Length"/>; an unknown word or a too-long prompt is an input error.</summary>
    public long[] Encode(string prompt)
    {
        var words = prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length > Length) throw new InputException($"prompt '{prompt}': more than {Length} words");
        var ids = new long[Length];
        for (var i = 0; i < words.Length; i++)
            ids[i] = _ids.TryGetValue(words[i].ToLowerInvariant(), out var id)
                ? id
                : throw new InputException($"prompt '{prompt}': unknown word '{words[i]}' (known: {string.Join(", ", Words.Skip(1))})");
        return ids;
    }

    public string Decode(IEnumerable<long> ids) => string.Join(' ', ids.Where(i => i != Pad).Select(i => Words[(int)i]));
}
