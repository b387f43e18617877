using PhasedDmd.Diffusion;
using PhasedDmd.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Generators;

/// <summary>
/// A few-step generator made of one expert per phase, routed by timestep: step i runs the
/// expert of the phase whose interval contains t_i, so sampling costs N evaluations of a
/// single network (method.md §4.1).
/// </summary>
public sealed class StudentGenerator : nn.Module
{
    private readonly ModuleList<VelocityModel> experts;
    private readonly LoraAdapters?[] adapters;
    public StudentSpec Spec { get; }
    public NoiseSchedule Schedule { get; }
    public PhaseLayout Layout => Spec.Layout;

    private StudentGenerator(StudentSpec spec, NoiseSchedule schedule, IReadOnlyList<(VelocityModel Expert, LoraAdapters? Adapters)> models) : base(nameof(StudentGenerator))
    {
        Spec = spec;
        Schedule = schedule;
        experts = new ModuleList<VelocityModel>([.. models.Select(m => m.Expert)]);
        adapters = [.. models.Select(m => m.Adapters)];
        RegisterComponents();
    }

    /// <summary>
    /// K experts initialised from the teacher: full copies, or LoRA adapters (zero-initialised) on the teacher's
    /// own frozen base, which every expert shares with it (<see cref="LoraAdapters.ShareBase"/>: one copy in memory).
    /// </summary>
    public static StudentGenerator FromTeacher(VelocityModel teacher, StudentSpec spec, NoiseSchedule schedule, Generator? rng = null)
    {
        var device = teacher.parameters().First().device;
        var models = Enumerable.Range(0, spec.Layout.Phases).Select(_ =>
        {
            var expert = teacher.Spec.Build();
            expert.to(device);
            expert.ToPrecision(teacher.ComputeType);
            if (spec.Experts == ExpertKind.Lora)
            {
                var lora = spec.AttachTo(expert, rng);
                lora.ShareBase(teacher, expert);
                return (expert, lora);
            }
            CopyWeights(teacher, expert);
            foreach (var p in expert.parameters()) p.requires_grad_(true);   // whatever the teacher's file said (e.g. frozen EMA weights)
            return (expert, (LoraAdapters?)null);
        }).ToList();
        return new StudentGenerator(spec, schedule, models);
    }

    /// <summary>An untrained student of the given architecture (to load saved weights into).</summary>
    public static StudentGenerator Create(ModelSpec network, StudentSpec spec, NoiseSchedule schedule)
        => new(spec, schedule, [.. Enumerable.Range(0, spec.Layout.Phases).Select(_ =>
        {
            var expert = network.Build();
            return (expert, spec.Experts == ExpertKind.Lora ? spec.AttachTo(expert, null) : null);
        })]);

    public static void CopyWeights(nn.Module from, nn.Module to)
    {
        using var _ = torch.no_grad();
        var source = from.state_dict();
        foreach (var (name, p) in to.named_parameters())
            if (source.TryGetValue(name, out var s)) p.copy_(s);
    }

    /// <summary>
    /// A copy with every attached LoRA adapter merged into plain weights (W + (α/r) B A): full experts
    /// that compute the same velocities, for export. Declared adapters stay (the network's own forward
    /// applies them); a full-expert student is copied as is.
    /// </summary>
    public StudentGenerator Merged(ModelSpec network)
    {
        var spec = Spec with { Experts = ExpertKind.Full };
        var merged = Create(network, spec, Schedule);
        merged.to(experts[0].parameters().First().device);
        for (var k = 1; k <= ExpertCount; k++)
        {
            CopyWeights(Expert(k), merged.Expert(k));
            Adapters(k)?.MergeInto(merged.Expert(k));
        }
        merged.eval();
        return merged;
    }

    /// <summary>Every expert's adapters by their names in the student (<c>experts.0.….lora_A</c>); null for full experts.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)>? AdapterParameters()
        => Spec.Experts != ExpertKind.Lora ? null
            : [.. Enumerable.Range(1, ExpertCount).SelectMany(k => Adapters(k)!.Parameters.Select(p => ($"experts.{k - 1}.{p.Name}", (Tensor)p.Parameter)))];

    /// <summary>The adapters of phase k's expert (null for a full expert).</summary>
    public LoraAdapters? Adapters(int k) => adapters[k - 1];

    /// <summary>The expert of phase k (1-based).</summary>
    public VelocityModel Expert(int k) => experts[k - 1];

    public int ExpertCount => experts.Count;

    /// <summary>Parameters that training phase k may change: the whole expert, or only its adapters.</summary>
    public IEnumerable<Parameter> TrainableParameters(int k)
        => Adapters(k) is { } lora ? lora.Parameters.Select(p => p.Parameter) : Expert(k).parameters();

    /// <summary>
    /// One student step from t_i to <paramref name="toTime"/> with the expert of step i's phase.
    /// Returns the new state and the step's x̂_0 prediction.
    /// </summary>
    public (Tensor X, Tensor X0) Step(Tensor x, int i, double toTime, Tensor? condition, Generator? noise = null)
    {
        var t = Layout.Times[i];
        var tt = torch.full(x.shape[0], t, device: x.device);
        var expert = Expert(Layout.PhaseOfStep(i));
        var kind = expert.Prediction;
        var f = expert.Predict(x, tt, condition);
        // Every view from the expert's own prediction, at the time it was evaluated (method.md §4.5).
        var te = Predictions.SafeTime(Schedule, kind, ScalarTime(t, x));
        var x0 = Predictions.ToX0(Schedule, kind, x, f, te);
        switch (Spec.Solver)
        {
            case RolloutSolver.Ddim:
                return (ProbabilityFlow.DdimStep(Schedule, x0, Predictions.ToEpsilon(Schedule, kind, x, f, te), toTime), x0);
            case RolloutSolver.Euler:
                return (ProbabilityFlow.EulerStep(x, Predictions.ToVelocity(Schedule, kind, x, f, te), t, toTime), x0);
        }
        if (toTime == 0.0) return (ProbabilityFlow.EulerStep(x, Predictions.ToVelocity(Schedule, kind, x, f, te), t, toTime), x0);
        var eps = Noise.Gaussian(x.shape, noise, x.device);
        return (Schedule.Alpha(toTime) * x0 + Schedule.Sigma(toTime) * eps, x0);
    }

    /// <summary>Runs steps [from, to) without gradient (each step lands on the next grid time).</summary>
    public Tensor Run(Tensor x, int from, int to, Tensor? condition, Generator? noise = null)
    {
        using var _ = torch.no_grad();
        var current = x;
        for (var i = from; i < to; i++)
        {
            using var scope = torch.NewDisposeScope();
            var (next, _) = Step(current, i, Layout.Times[i + 1], condition, noise);
            var previous = current;
            current = next.MoveToOuterDisposeScope();
            if (!ReferenceEquals(previous, x)) previous.Dispose();
        }
        return ReferenceEquals(current, x) ? x.alias() : current;
    }

    /// <summary>Samples: all N steps from noise at t = 1 to t = 0 (N function evaluations).</summary>
    public Tensor Sample(Tensor noise, Tensor? condition, Generator? rng = null) => Run(noise, 0, Layout.Steps, condition, rng);

    private static Tensor ScalarTime(double t, Tensor like)
        => torch.tensor(t, dtype: like.dtype, device: like.device);
}
