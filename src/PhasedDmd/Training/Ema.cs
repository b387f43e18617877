using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>
/// Exponential moving average of a module's trainable parameters, kept as shadow tensors by
/// name (works for full networks and for LoRA adapters alike). With <c>warmup</c> (teacher training
/// from random weights) update n uses β_n = min(β, (1 + n) / (10 + n)), so the average forgets the
/// initial weights within the first few dozen updates instead of keeping β^n of them (with β = 0.999,
/// 22% after 1500 updates: the random network leaks into the saved model and its samples stay noisy).
/// Without it β is constant, for averages that start from meaningful weights (a distilled generator
/// starts as the teacher).
/// </summary>
public sealed class Ema : IDisposable
{
    private const string UpdatesKey = "__ema_updates__";
    private readonly double _decay;
    private readonly Dictionary<string, Tensor> _shadow;
    private readonly bool _warmup;
    private long _updates;

    public Ema(nn.Module source, double decay, bool warmup = false)
    {
        _decay = decay;
        _warmup = warmup;
        using var _ = torch.no_grad();
        _shadow = source.named_parameters().Where(p => p.parameter.requires_grad)
            .ToDictionary(p => p.name, p => p.parameter.dtype is ScalarType.BFloat16 or ScalarType.Float16
                ? p.parameter.detach().to(ScalarType.Float32)   // a network held in half precision is averaged in float32
                : p.parameter.detach().clone());
    }

    /// <summary>The decay used by update <paramref name="n"/> (1-based).</summary>
    public static double DecayAt(double decay, long n) => Math.Min(decay, (1.0 + n) / (10.0 + n));

    public void Update(nn.Module source)
    {
        var beta = _warmup ? DecayAt(_decay, ++_updates) : _decay;
        using var _ = torch.no_grad();
        foreach (var (name, p) in source.named_parameters())
            if (_shadow.TryGetValue(name, out var e)) e.mul_(beta).add_(p.detach(), alpha: 1 - beta);
    }

    /// <summary>Writes the averaged values into the module's parameters.</summary>
    public void CopyTo(nn.Module target)
    {
        using var _ = torch.no_grad();
        foreach (var (name, p) in target.named_parameters())
            if (_shadow.TryGetValue(name, out var e)) p.copy_(e);
    }

    public void Save(string path)
    {
        using var updates = torch.tensor(_updates);
        TorchSharp.PyBridge.Safetensors.SaveStateDict(path, new Dictionary<string, Tensor>(_shadow) { [UpdatesKey] = updates });
    }

    /// <summary>Restores a saved average (and its update count; files written before the warm-up count as warmed up).</summary>
    public void Load(string path)
    {
        using var _ = torch.no_grad();
        var saved = TorchSharp.PyBridge.Safetensors.LoadStateDict(path);
        try
        {
            foreach (var (name, t) in _shadow)
            {
                if (!saved.TryGetValue(name, out var s)) throw new InputException($"checkpoint EMA is missing '{name}'");
                t.copy_(s);
            }
            _updates = saved.TryGetValue(UpdatesKey, out var u) ? u.item<long>() : long.MaxValue / 2;
        }
        finally
        {
            foreach (var t in saved.Values) t.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var t in _shadow.Values) t.Dispose();
    }
}
