using System.Text.RegularExpressions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// The low-rank adapters of one network, and the one place that attaches them, lists what trains, merges
/// them into plain weights and writes them in the PEFT layout. Two kinds:
/// <list type="bullet">
/// <item><b>Attached</b> to linear layers chosen by module name (a regex searched in the module path; by
/// default the layers the network's author marked as <see cref="LoraLinear"/>): y = W x + b + (α / r) B A x
/// with B = 0 at creation. A <see cref="LoraLinear"/> carries the adapter itself; any other
/// <c>Linear</c> gets it through a forward hook (so the network must run it with <c>call</c>).</item>
/// <item><b>Declared</b> by a network whose author put the adapter parameters in (a TorchScript module
/// wrapped before scripting, e.g. by peft or a ten-line wrapper): the parameters whose names match the
/// spec's pattern (<see cref="ModelSpec.DeclaredAdapters"/>). The script's own forward applies them, so
/// there is nothing to merge.</item>
/// </list>
/// Everything that is not an adapter is the frozen base; <see cref="ShareBase"/> makes it alias another
/// network's tensors, so any number of experts and fake scores hold the teacher's base once.
/// </summary>
public sealed class LoraAdapters
{
    /// <summary>One adapted linear layer: its module path, base weight, A [r, in], B [out, r] and scale α / r.</summary>
    public sealed record Layer(string Name, Parameter Weight, Parameter A, Parameter B, double Scale)
    {
        /// <summary>W + (α / r) B A: the plain weight equivalent to the adapted layer.</summary>
        public Tensor MergedWeight()
        {
            using var _ = torch.no_grad();
            return (Weight + B.matmul(A) * Scale).detach();
        }
    }

    /// <summary>The attached layers (empty for declared adapters).</summary>
    public IReadOnlyList<Layer> Layers { get; }
    /// <summary>Every adapter parameter by its name in the network: what an expert with adapters trains.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; }
    /// <summary>The adapters are the network's own (declared), not attached here.</summary>
    public bool Declared { get; }
    /// <summary>The rank r (the largest, for declared adapters of several ranks).</summary>
    public int Rank { get; }
    /// <summary>α, so that the scale is α / r (for declared adapters: what the import recorded).</summary>
    public double Alpha { get; }

    private LoraAdapters(IReadOnlyList<Layer> layers, IReadOnlyList<(string, Parameter)> parameters, bool declared, int rank, double alpha)
    {
        Layers = layers;
        Parameters = parameters;
        Declared = declared;
        Rank = rank;
        Alpha = alpha;
    }

    /// <summary>
    /// Freezes the network and gives it adapters: its declared ones, or fresh ones of rank r on the linear layers
    /// whose module path matches <paramref name="targets"/> (null: its <see cref="LoraLinear"/> layers).
    /// A is drawn like a linear layer's weight from <paramref name="rng"/>; B is zero, so the network is unchanged.
    /// </summary>
    public static LoraAdapters Attach(VelocityModel network, int rank, double alpha, string? targets, Generator? rng)
    {
        foreach (var p in network.parameters()) p.requires_grad_(false);
        if (network.Spec.DeclaredAdapters is { } declared) return Declare(network, declared, network.Spec.DeclaredAdapterAlpha);
        if (rank < 1) throw new InputException($"lora rank must be ≥ 1 (got {rank})");
        var pattern = targets is null ? null : Compile(targets, "lora-targets");
        var chosen = pattern is null
            ? network.AdaptableLayers().Select(l => (l.Name, (nn.Module)l.Layer)).ToList()
            : network.named_modules().Where(m => m.module is LoraLinear or Linear && pattern.IsMatch(m.name)).ToList();
        if (chosen.Count == 0)
            throw new InputException(pattern is not null
                ? $"lora-targets: no linear layer's module path matches '{targets}' in this {Kind(network)} network"
                : network.Spec.IsSealed
                    ? "experts: lora on a TorchScript teacher needs adapter parameters in the script; wrap the layers before scripting and import it with import-teacher --adapters PATTERN (or use full experts)"
                    : $"experts: lora needs linear layers, and this {Kind(network)} network marks none as adaptable; choose some with --lora-targets REGEX (or use full experts)");
        var layers = new List<Layer>();
        foreach (var (name, module) in chosen)
        {
            var weight = module switch { LoraLinear l => l.weight, Linear l => l.weight!, _ => throw new InvalidOperationException() };
            var (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1]);
            var bound = 1.0 / Math.Sqrt(inFeatures);
            var a = new Parameter(torch.empty(rank, inFeatures).uniform_(-bound, bound, generator: rng).to(weight.dtype, weight.device));
            var b = new Parameter(torch.zeros(outFeatures, rank, dtype: weight.dtype, device: weight.device));
            var scale = alpha / rank;
            module.register_parameter("lora_A", a);
            module.register_parameter("lora_B", b);
            switch (module)
            {
                case LoraLinear own: own.UseAdapter(a, b, scale); break;
                case Linear linear: linear.register_forward_hook((_, x, y) => y + nn.functional.linear(nn.functional.linear(x, a), b) * scale); break;
            }
            layers.Add(new Layer(name, weight, a, b, scale));
        }
        return new LoraAdapters(layers, [.. layers.SelectMany(l => new[] { ($"{l.Name}.lora_A", l.A), ($"{l.Name}.lora_B", l.B) })], false, rank, alpha);
    }

    private static LoraAdapters Declare(VelocityModel network, string declared, double? alpha)
    {
        var pattern = Compile(declared, "adapters");
        var prefix = network.AuthorPrefix;
        var parameters = network.named_parameters().Where(p => pattern.IsMatch(p.name[prefix.Length..])).Select(p => (p.name, p.parameter)).ToList();
        if (parameters.Count == 0) throw new InputException($"adapters: no parameter of the network matches '{declared}'");
        var rank = (int)parameters.Where(p => p.name.Contains("lora_A")).Select(p => p.parameter.shape[0]).DefaultIfEmpty(0).Max();
        return new LoraAdapters([], parameters, true, rank, alpha ?? rank) { _prefix = prefix };
    }

    /// <summary>Declared adapters' values as the network was loaded with them (kept by <see cref="KeepStart"/>), for <see cref="Reset"/>.</summary>
    private List<Tensor>? _declaredStart;

    /// <summary>Keeps the declared adapters' current values for <see cref="Reset"/> (attached ones are redrawn instead, and keep nothing).</summary>
    public void KeepStart()
    {
        if (!Declared || _declaredStart is not null) return;
        using var _ = torch.no_grad();
        _declaredStart = [.. Parameters.Select(p => p.Parameter.detach().clone())];
    }

    /// <summary>
    /// Puts the adapters back as attached: A redrawn from <paramref name="rng"/> in the order <see cref="Attach"/> draws it and
    /// B = 0 (the network is its base again); declared adapters get the values the network was loaded with. A fake score is
    /// re-initialised so every phase instead of being loaded again.
    /// </summary>
    public void Reset(Generator? rng)
    {
        using var _ = torch.no_grad();
        if (Declared)
        {
            if (_declaredStart is null) throw new InvalidOperationException("declared adapters are reset to the values KeepStart kept");
            foreach (var ((_, p), start) in Parameters.Zip(_declaredStart)) p.copy_(start);
            return;
        }
        foreach (var layer in Layers)
        {
            var bound = 1.0 / Math.Sqrt(layer.A.shape[1]);
            using (var a = torch.empty(layer.A.shape).uniform_(-bound, bound, generator: rng)) layer.A.copy_(a);
            layer.B.zero_();
        }
    }

    /// <summary>What precedes the author's own parameter names (a script's <c>net.</c>): left out of the PEFT keys.</summary>
    private string _prefix = "";

    /// <summary>The declared adapters of a network (null when its spec declares none): what an import checks.</summary>
    public static IReadOnlyList<string>? DeclaredNames(VelocityModel network)
        => network.Spec.DeclaredAdapters is null ? null : [.. Declare(network, network.Spec.DeclaredAdapters, null).Parameters.Select(p => p.Name)];

    /// <summary>
    /// Makes every parameter of <paramref name="target"/> that is not one of its adapters the same tensor as
    /// <paramref name="source"/>'s parameter of that name (storage shared, not copied): the base is held once.
    /// Both networks must have the same architecture, device and dtype; the base stays frozen.
    /// </summary>
    public void ShareBase(VelocityModel source, VelocityModel target)
    {
        var adapters = Parameters.Select(p => p.Name).ToHashSet();
        var from = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var _ = torch.no_grad();
        foreach (var (name, p) in target.named_parameters())
        {
            if (adapters.Contains(name)) continue;
            if (!from.TryGetValue(name, out var s) || !s.shape.SequenceEqual(p.shape) || s.dtype != p.dtype || s.device_type != p.device_type || s.device_index != p.device_index)
                throw new InvalidOperationException($"cannot share '{name}': the networks differ");
            p.requires_grad_(false);
            p.set_(s);
        }
    }

    /// <summary>Writes W + (α / r) B A into the same layers of <paramref name="plain"/>, a network without adapters (declared ones need no merge).</summary>
    public void MergeInto(VelocityModel plain)
    {
        var weights = plain.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var _ = torch.no_grad();
        foreach (var layer in Layers)
            using (var merged = layer.MergedWeight())
                weights[$"{layer.Name}.weight"].copy_(merged);
    }

    /// <summary>
    /// The adapters in the PEFT / diffusers layout: <c>base_model.model.{module}.lora_A.weight</c> [r, in] and
    /// <c>….lora_B.weight</c> [out, r]; a declared adapter keeps its own name under the same prefix (with
    /// <c>.weight</c> added when the author's parameter is a bare tensor).
    /// </summary>
    public Dictionary<string, Tensor> PeftStateDict()
        => Parameters.ToDictionary(p => PeftPrefix + AuthorName(p.Name) + (p.Name.EndsWith(".weight") ? "" : ".weight"), p => p.Parameter.detach());

    private string AuthorName(string name) => name[_prefix.Length..];

    /// <summary>PEFT's <c>adapter_config.json</c> for these adapters.</summary>
    public Dictionary<string, object?> PeftConfig() => new()
    {
        ["peft_type"] = "LORA",
        ["r"] = Rank,
        ["lora_alpha"] = Alpha,
        ["target_modules"] = Declared
            ? Parameters.Select(p => AuthorName(p.Name)).Where(n => n.Contains("lora_A")).Select(n => n[..n.IndexOf(".lora_A", StringComparison.Ordinal)]).Distinct().ToArray()
            : Layers.Select(l => l.Name).ToArray(),
        ["lora_dropout"] = 0.0,
        ["bias"] = "none",
        ["fan_in_fan_out"] = false,
        ["init_lora_weights"] = true,
        ["base_model_name_or_path"] = null,
        ["task_type"] = null,
    };

    /// <summary>The prefix PEFT puts before a module path.</summary>
    public const string PeftPrefix = "base_model.model.";

    private static Regex Compile(string pattern, string option)
    {
        try { return new Regex(pattern, RegexOptions.CultureInvariant); }
        catch (ArgumentException e) { throw new InputException($"{option}: '{pattern}' is not a regular expression ({e.Message})"); }
    }

    private static string Kind(VelocityModel network) => network.Spec.GetType().Name.Replace("Spec", "");
}
