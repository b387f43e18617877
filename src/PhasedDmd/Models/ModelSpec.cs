using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace PhasedDmd.Models;

/// <summary>
/// The architecture of a velocity model: saved as JSON beside the weights (with a <c>kind</c> naming
/// its type) and used to rebuild it. The project's kinds are <c>mlp</c>, <c>dit</c> and <c>torchscript</c>;
/// a network of your own (a <see cref="VelocityModel"/> subclass with its own spec record) joins them
/// with <see cref="Register{TSpec}"/>, after which it can be a teacher, its students saved and loaded.
/// </summary>
[JsonConverter(typeof(ModelSpecConverter))]
public abstract record ModelSpec
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Type> Kinds = new()
    {
        ["mlp"] = typeof(MlpSpec), ["dit"] = typeof(DitSpec), ["torchscript"] = typeof(TorchScriptSpec),
    };

    public abstract VelocityModel Build();

    /// <summary>Shape of one data sample (e.g. [2] for points).</summary>
    public abstract long[] SampleShape { get; }

    /// <summary>What the network outputs (method.md §4.5); the project's own networks output the velocity.</summary>
    [JsonIgnore] public virtual Diffusion.Prediction Output => Diffusion.Prediction.Velocity;

    /// <summary>The factor the network's time input is scaled by (an imported module fed timesteps = t·1000: 1000).</summary>
    [JsonIgnore] public virtual double InputTimeScale => 1;

    /// <summary>Classes of a class-conditional network (0 = not class-conditional).</summary>
    [JsonIgnore] public virtual int ClassCount => 0;

    /// <summary>Whether the reference sampler that <c>export</c> writes (<c>sample_student.py</c>) can run students of this network.</summary>
    [JsonIgnore] public virtual bool SampledByExportedScript => false;

    /// <summary>
    /// A regex over parameter names picking the adapter parameters the network's author put in (a TorchScript module
    /// wrapped with LoRA before scripting); null when the adapters, if any, are attached by <see cref="LoraAdapters"/>.
    /// </summary>
    [JsonIgnore] public virtual string? DeclaredAdapters => null;

    /// <summary>The α of declared adapters (their scale is α / r), as recorded at import; null: α = r.</summary>
    [JsonIgnore] public virtual double? DeclaredAdapterAlpha => null;

    /// <summary>Whether the network is compiled (TorchScript): no layer can be wrapped from here, only declared adapters train.</summary>
    [JsonIgnore] public virtual bool IsSealed => false;

    /// <summary>The files a model directory built on this network carries beside its card, relative to it (an imported script, its conditions and their names).</summary>
    [JsonIgnore] public virtual IReadOnlyList<string> Files => [];

    /// <summary>The folder <see cref="Files"/> are read from (the model directory the card was read from); not saved.</summary>
    [JsonIgnore] public string? Directory { get; init; }

    /// <summary>The full path of one of the network's <see cref="Files"/>.</summary>
    public string PathOf(string file) => Path.Combine(Directory ?? ".", file);

    /// <summary>The conditions file that came with the network (an imported conditional module's), and its names file; null when there is none.</summary>
    [JsonIgnore] public virtual string? ConditionsPath => null;
    [JsonIgnore] public virtual string? NamesPath => null;

    /// <summary>Loads <see cref="ConditionsPath"/> with its names (null for a network without one).</summary>
    public ConditionsFile? LoadConditions() => ConditionsPath is { } path ? ConditionsFile.Load(path, NamesPath) : null;

    /// <summary>
    /// Makes a spec type of your own known under <paramref name="kind"/>, so that model cards holding it
    /// are written and read back (register it before reading such a card). Registering the same type
    /// again is harmless; a kind taken by another type is an error.
    /// </summary>
    public static void Register<TSpec>(string kind) where TSpec : ModelSpec
    {
        if (string.IsNullOrWhiteSpace(kind)) throw new ArgumentException("a kind must be a non-empty name", nameof(kind));
        lock (Gate)
        {
            if (Kinds.TryGetValue(kind, out var type))
            {
                if (type == typeof(TSpec)) return;
                throw new ArgumentException($"network kind '{kind}' is already {type.Name}", nameof(kind));
            }
            if (Kinds.ContainsValue(typeof(TSpec))) throw new ArgumentException($"{typeof(TSpec).Name} is already registered under another kind", nameof(kind));
            Kinds[kind] = typeof(TSpec);
        }
    }

    /// <summary>The kind a spec is saved under; an <see cref="InputException"/> for a type never registered.</summary>
    public static string KindOf(ModelSpec spec)
    {
        lock (Gate)
            return Kinds.FirstOrDefault(k => k.Value == spec.GetType()).Key
                   ?? throw new InputException($"network: {spec.GetType().Name} is not a registered network kind, so a model card holding it cannot be saved; call ModelSpec.Register<{spec.GetType().Name}>(\"a-kind\") first");
    }

    internal static Type? TypeOf(string kind)
    {
        lock (Gate) return Kinds.TryGetValue(kind, out var t) ? t : null;
    }

    internal static string[] KnownKinds
    {
        get { lock (Gate) return [.. Kinds.Keys.Order()]; }
    }
}

/// <summary>Writes a spec as its own type's JSON with <c>kind</c> first; reads the type <c>kind</c> names.</summary>
internal sealed class ModelSpecConverter : JsonConverter<ModelSpec>
{
    private const string KindKey = "kind";

    public override ModelSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (JsonNode.Parse(ref reader) is not JsonObject obj) throw new JsonException("a network must be a JSON object");
        if (obj[KindKey] is not JsonValue kindValue || !kindValue.TryGetValue<string>(out var kind))
            throw new JsonException($"a network needs a '{KindKey}' ({string.Join(", ", ModelSpec.KnownKinds)})");
        var type = ModelSpec.TypeOf(kind)
                   ?? throw new JsonException($"unknown network kind '{kind}' (known: {string.Join(", ", ModelSpec.KnownKinds)}; a network of your own needs ModelSpec.Register)");
        obj.Remove(KindKey);
        return (ModelSpec)(obj.Deserialize(type, options) ?? throw new JsonException("a network must not be null"));
    }

    public override void Write(Utf8JsonWriter writer, ModelSpec value, JsonSerializerOptions options)
    {
        var body = JsonSerializer.SerializeToNode(value, value.GetType(), options) as JsonObject ?? [];
        var obj = new JsonObject { [KindKey] = ModelSpec.KindOf(value) };
        foreach (var (key, node) in body.ToList())
        {
            body.Remove(key);
            obj[key] = node;
        }
        obj.WriteTo(writer, options);
    }
}
