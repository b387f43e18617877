using PhasedDmd.Generators;
using PhasedDmd.Models;
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
    public AdamW Optimizer { get; }
    public IReadOnlyList<Parameter> Parameters { get; }

    private FakeScore(VelocityModel network, IReadOnlyList<Parameter> parameters, DistillConfig c)
    {
        Network = network;
        Parameters = parameters;
        Optimizer = optim.AdamW(parameters, c.FakeLearningRate, c.Beta1, c.Beta2, weight_decay: c.WeightDecay);
    }

    /// <summary>
    /// A fresh copy of the teacher's network for phase <paramref name="phase"/>, in training mode on <paramref name="device"/>:
    /// all of it trains, or (<see cref="DistillConfig.FakeKind"/> lora) only adapters on the teacher's shared frozen base (their A drawn from a
    /// stream of the seed and the phase, the same on every rank).
    /// </summary>
    public static FakeScore FromTeacher(Teacher teacher, DistillConfig config, Device device, int phase = 1)
    {
        var network = teacher.Network.Spec.Build();
        network.to(device).train();
        if (config.FakeKind == ExpertKind.Lora)
        {
            using var rng = Training.Runtime.NewGenerator(config.Seed + AdapterStream + phase);
            var lora = LoraAdapters.Attach(network, config.LoraRank, config.LoraAlpha, config.LoraTargets, rng);
            lora.ShareBase(teacher.Network, network);
            var adapters = lora.Parameters.Select(p => p.Parameter).ToList();
            foreach (var p in adapters) p.requires_grad_(true);
            return new FakeScore(network, adapters, config);
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
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Network.Dispose();
    }
}
