using System.Globalization;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// The conditions of a conditional teacher defined outside the project: a safetensors file holding
/// <c>cond</c>, one row per prompt or class in whatever shape and dtype the teacher takes
/// (precomputed text-encoder embeddings [P, L, D], class ids [P], …), and optionally <c>null</c>, the
/// condition of classifier-free guidance's unconditional pass (one row, shaped like a row of
/// <c>cond</c>, with or without a leading 1). An optional text file names the rows, one name per line.
/// </summary>
public sealed class ConditionsFile : IDisposable
{
    public const string CondKey = "cond";
    public const string NullKey = "null";
    /// <summary>File names inside a model directory.</summary>
    public const string FileName = "conditions.safetensors";
    public const string NamesFileName = "conditions.txt";

    /// <summary>[P, …]: row p is prompt p's condition.</summary>
    public Tensor Cond { get; }
    /// <summary>[1, …] or null when the file has no unconditional row.</summary>
    public Tensor? Null { get; }
    /// <summary>The rows' names (their indices as text when no names file is given).</summary>
    public IReadOnlyList<string> Names { get; }
    public bool HasNames { get; }

    public int Count => (int)Cond.shape[0];
    public long[] RowShape => Cond.shape[1..];

    private ConditionsFile(Tensor cond, Tensor? @null, IReadOnlyList<string>? names)
    {
        Cond = cond;
        Null = @null;
        HasNames = names is not null;
        Names = names ?? Enumerable.Range(0, (int)cond.shape[0]).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>Reads and checks a conditions file (and its names file); any problem is an <see cref="InputException"/> naming it.</summary>
    public static ConditionsFile Load(string path, string? namesPath = null)
    {
        if (!File.Exists(path)) throw new InputException($"conditions: file not found: {path}");
        Dictionary<string, Tensor> tensors;
        try { tensors = Safetensors.LoadStateDict(path); }
        catch (Exception e) { throw new InputException($"conditions: {path} is not a safetensors file ({e.Message.Split('\n', 2)[0].Trim()})"); }
        if (!tensors.TryGetValue(CondKey, out var cond))
            throw new InputException($"conditions: {path} has no '{CondKey}' tensor (one row per prompt or class)");
        if (tensors.Keys.FirstOrDefault(k => k is not (CondKey or NullKey)) is { } unknown)
            throw new InputException($"conditions: {path} holds an unknown tensor '{unknown}' (expected '{CondKey}' and optionally '{NullKey}')");
        if (cond.dim() == 0 || cond.shape[0] == 0)
            throw new InputException($"conditions: '{CondKey}' in {path} must have at least one row (shape [P, …], got [{string.Join(", ", cond.shape)}])");
        Tensor? nul = null;
        if (tensors.TryGetValue(NullKey, out var n))
        {
            var row = cond.shape[1..];
            if (n.shape.SequenceEqual(row)) nul = n.unsqueeze(0);
            else if (n.dim() == cond.dim() && n.shape[0] == 1 && n.shape[1..].SequenceEqual(row)) nul = n;
            else throw new InputException($"conditions: '{NullKey}' in {path} has shape [{string.Join(", ", n.shape)}], but a row of '{CondKey}' is [{string.Join(", ", row)}]");
            if (n.dtype != cond.dtype)
                throw new InputException($"conditions: '{NullKey}' in {path} is {n.dtype}, but '{CondKey}' is {cond.dtype}");
        }
        if ((cond.is_floating_point() && !cond.isfinite().all().item<bool>()) || (nul is not null && nul.is_floating_point() && !nul.isfinite().all().item<bool>()))
            throw new InputException($"conditions: {path} holds NaN or Inf values");
        string[]? names = null;
        if (namesPath is not null)
        {
            if (!File.Exists(namesPath)) throw new InputException($"conditions: names file not found: {namesPath}");
            names = File.ReadAllLines(namesPath).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            if (names.Length != cond.shape[0])
                throw new InputException($"conditions: {namesPath} names {names.Length} rows, but '{CondKey}' has {cond.shape[0]}");
            if (names.GroupBy(x => x).FirstOrDefault(g => g.Count() > 1) is { } twice)
                throw new InputException($"conditions: {namesPath} names '{twice.Key}' twice");
        }
        // The file lives as long as its owner (a model, a condition source), not as long as the dispose scope it was read in.
        foreach (var t in tensors.Values) if (!ReferenceEquals(t, cond) && !ReferenceEquals(t, n)) t.Dispose();
        cond.DetachFromDisposeScope();
        nul?.DetachFromDisposeScope();
        if (nul is not null && !ReferenceEquals(nul, n)) n!.Dispose();
        return new ConditionsFile(cond, nul, names);
    }

    /// <summary>The rows with the given indices [n] (on the CPU).</summary>
    public Tensor Rows(Tensor indices) => Cond.index_select(0, indices);

    /// <summary>The unconditional row, repeated to a batch shaped like <paramref name="condition"/>.</summary>
    public Tensor NullFor(Tensor condition)
    {
        if (Null is null) throw new InputException("cfg: guidance needs the unconditional condition, and the conditions file has no 'null' row");
        return Null.to(condition.device).expand(condition.shape).contiguous();
    }

    /// <summary>A row by its name or, failing that, by its index; anything else is an input error listing the choices.</summary>
    public int Resolve(string prompt)
    {
        var byName = Names.ToList().IndexOf(prompt.Trim());
        if (byName >= 0) return byName;
        if (int.TryParse(prompt, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) && i >= 0 && i < Count) return i;
        var choices = HasNames ? string.Join(", ", Names.Take(12)) + (Count > 12 ? ", …" : "") : $"an index 0 … {Count - 1}";
        throw new InputException($"prompt: '{prompt}' is not a row of the conditions file (expected {choices})");
    }

    public void Dispose()
    {
        Cond.Dispose();
        Null?.Dispose();
    }
}
