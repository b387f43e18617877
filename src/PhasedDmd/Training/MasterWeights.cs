using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>
/// The float32 copy that an optimizer updates of parameters a network holds in a lower precision (mixed-precision training):
/// the gradients of the network's parameters are copied into the masters' before the step, and the stepped masters are copied
/// back (rounded) into the network after it. For float32 parameters the masters are the parameters themselves and both copies
/// are nothing, so a float32 run is unchanged.
/// </summary>
public sealed class MasterWeights : IDisposable
{
    /// <summary>The parameters the network computes with (their gradients are what backward fills).</summary>
    public IReadOnlyList<Parameter> Model { get; }
    /// <summary>What the optimizer updates: float32 masters, or <see cref="Model"/> itself.</summary>
    public IReadOnlyList<Parameter> Optimized { get; }
    /// <summary>Whether the masters are copies (some parameter is not float32).</summary>
    public bool Separate { get; }

    public MasterWeights(IReadOnlyList<Parameter> model)
    {
        Model = model;
        Separate = model.Any(p => p.dtype != ScalarType.Float32);
        if (!Separate)
        {
            Optimized = model;
            return;
        }
        using var _ = no_grad();
        Optimized = [.. model.Select(p => new Parameter(p.detach().to(ScalarType.Float32).clone(), requires_grad: true))];
    }

    /// <summary>Clears the network's gradients before a backward pass (the optimizer clears the masters').</summary>
    public void ZeroModelGradients()
    {
        if (!Separate) return;
        foreach (var p in Model) p.grad?.zero_();
    }

    /// <summary>The network's gradients, in float32, as the masters' (after backward and the data-parallel average).</summary>
    public void GradientsToMasters()
    {
        if (!Separate) return;
        using var _ = no_grad();
        for (var i = 0; i < Model.Count; i++)
        {
            var g = Model[i].grad;
            var m = Optimized[i];
            if (g is null) m.grad = null;
            else if (m.grad is null) m.grad = g.to(ScalarType.Float32);
            else m.grad.copy_(g);
        }
    }

    /// <summary>The stepped masters into the network (rounded to its precision).</summary>
    public void MastersToModel()
    {
        if (!Separate) return;
        using var _ = no_grad();
        for (var i = 0; i < Model.Count; i++) Model[i].copy_(Optimized[i]);
    }

    /// <summary>The network's values into the masters (after the network was re-initialised, e.g. a fake score renewed).</summary>
    public void ModelToMasters()
    {
        if (!Separate) return;
        using var _ = no_grad();
        for (var i = 0; i < Model.Count; i++) Optimized[i].copy_(Model[i]);
    }

    /// <summary>The masters by position, for a checkpoint (empty when they are the parameters themselves, which the network's part holds).</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> Named()
        => Separate ? [.. Optimized.Select((p, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), (Tensor)p))] : [];

    public void Dispose()
    {
        if (!Separate) return;
        foreach (var p in Optimized)
        {
            p.grad = null;
            p.Dispose();
        }
    }
}
