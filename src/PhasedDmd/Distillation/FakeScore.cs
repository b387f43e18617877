using PhasedDmd.Generators;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// The fake score F_k of phase k (method.md §4.3): a trainable copy of the teacher, re-initialised
/// from it at the start of every phase, that learns the score of the student's boundary
/// distribution by score matching within the subinterval (Eq. 13) — it never sees clean data.
/// </summary>
public sealed class FakeScore : IDisposable
{
    public VelocityModel Network { get; }
    public AdamW Optimizer { get; private set; }
    /// <summary>What trains, as the network holds it.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }
    /// <summary>The float32 copy of <see cref="Parameters"/> that <see cref="Optimizer"/> updates (the parameters themselves in float32).</summary>
    public MasterWeights Masters { get; }
    private readonly LoraAdapters? _adapters;

    private FakeScore(VelocityModel network, IReadOnlyList<Parameter> parameters, DistillConfig c, LoraAdapters? adapters = null)
    {
        Network = network;
        Parameters = parameters;
        Masters = new MasterWeights(parameters);
        _adapters = adapters;
        Optimizer = NewOptimizer(c);
    }

    private AdamW NewOptimizer(DistillConfig c) => optim.AdamW(Masters.Optimized, c.FakeLearningRate, c.Beta1, c.Beta2, weight_decay: c.WeightDecay);

    /// <summary>The adapters by name (null for a full fake score): what a checkpoint keeps of a LoRA fake score.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)>? AdapterParameters => _adapters?.Parameters.Select(p => (p.Name, (Tensor)p.Parameter)).ToList();

    /// <summary>Whether <see cref="Renew"/> can re-initialise this fake score (LoRA: its adapters are reset; a full copy is loaded again instead).</summary>
    public bool Renewable => _adapters is not null;

    /// <summary>
    /// This LoRA fake score as <see cref="FromTeacher"/> would build it for <paramref name="phase"/> (the same adapter draws, a fresh
    /// optimizer), without loading the network again: a model of real size is not held twice while the next phase starts.
    /// </summary>
    public FakeScore Renew(DistillConfig config, int phase)
    {
        if (_adapters is null) throw new InvalidOperationException("only a LoRA fake score is renewed in place");
        using (var rng = AdapterGenerator(config, phase)) _adapters.Reset(rng);
        Masters.ModelToMasters();
        Optimizer.Dispose();
        Optimizer = NewOptimizer(config);
        return this;
    }

    private static Generator AdapterGenerator(DistillConfig config, int phase) => Training.Runtime.NewGenerator(config.Seed + AdapterStream + phase);

    /// <summary>
    /// A fresh copy of the teacher's network for phase <paramref name="phase"/>, in training mode on <paramref name="device"/>:
    /// all of it trains, or (<see cref="DistillConfig.FakeKind"/> lora) only adapters on the teacher's shared frozen base (their A drawn from a
    /// stream of the seed and the phase, the same on every rank).
    /// </summary>
    public static FakeScore FromTeacher(Teacher teacher, DistillConfig config, Device device, int phase = 1)
    {
        var network = teacher.Network.Spec.Build();
        network.to(device).train();
        network.ToPrecision(teacher.Network.ComputeType);
        if (config.FakeKind == ExpertKind.Lora)
        {
            using var rng = AdapterGenerator(config, phase);
            var lora = LoraAdapters.Attach(network, config.LoraRank, config.LoraAlpha, config.LoraTargets, rng);
            lora.KeepStart();   // for Renew
            lora.ShareBase(teacher.Network, network);
            var adapters = lora.Parameters.Select(p => p.Parameter).ToList();
            foreach (var p in adapters) p.requires_grad_(true);
            Training.Runtime.ReturnFreedMemory();   // its loaded base, now the teacher's
            return new FakeScore(network, adapters, config, lora);
        }
        StudentGenerator.CopyWeights(teacher.Network, network);
        foreach (var p in network.parameters()) p.requires_grad_(true);   // a script saved frozen (EMA weights) still trains
        return new FakeScore(network, network.parameters().ToList(), config);
    }

    /// <summary>Offset of the fake scores' adapter streams from the run's seed.</summary>
    private const long AdapterStream = 7_000_003;

    /// <summary>F(x_t, t, c), the velocity of the student's noised boundary distribution.</summary>
    public Tensor Velocity(Tensor xt, Tensor t, Tensor? condition) => Network.Forward(xt, t, condition);

    /// <summary>fake ← (1 − b) fake + b student, parameter by parameter (full experts only).</summary>
    public void BlendTowards(nn.Module student, double b)
    {
        using var _ = torch.no_grad();
        foreach (var (f, p) in Network.parameters().Zip(student.parameters())) f.mul_(1 - b).add_(p, alpha: b);
        Masters.ModelToMasters();
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Masters.Dispose();
        // The parameter handles too: a script's are wrappers of their own, which would keep its weights and
        // gradients alive until the finaliser ran (two copies of a large network per phase).
        foreach (var p in Parameters)
        {
            p.grad = null;
            p.Dispose();
        }
        Network.Dispose();
    }
}

/// <summary>
/// The fake score of each phase in turn, fresh from the teacher: a full copy is loaded anew (the previous one released
/// first); a LoRA one is loaded once and renewed in place (<see cref="FakeScore.Renew"/>), so a phase change never holds
/// a second copy of a large network.
/// </summary>
public sealed class FakeScores(Teacher teacher, DistillConfig config, Device device) : IDisposable
{
    private FakeScore? _current;

    public FakeScore For(int phase)
    {
        if (_current is { Renewable: true }) return _current.Renew(config, phase);
        _current?.Dispose();
        _current = null;
        return _current = FakeScore.FromTeacher(teacher, config, device, phase);
    }

    public void Dispose()
    {
        _current?.Dispose();
        _current = null;
    }
}
