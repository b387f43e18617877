using PhasedDmd.Diffusion;
using PhasedDmd.Generators;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// Everything phase k trains (method.md §4): its expert (the student's k-th; earlier experts stay
/// frozen), a fresh fake score, the generator's optimizer and EMA, and the phase's re-noising
/// interval t ∈ (s_k, upper]. Its checkpoint parts are the state a resume mid-phase needs.
/// </summary>
public sealed class PhaseState : IDisposable
{
    /// <summary>The phase, 1-based.</summary>
    public int K { get; }
    /// <summary>The boundary s_k where the phase's output distribution is matched.</summary>
    public double Boundary { get; }
    public VelocityModel Expert { get; }
    /// <summary>What the generator update may change: the whole expert, or only its LoRA adapters.</summary>
    public IReadOnlyList<Parameter> Trainable { get; }
    /// <summary>The float32 copy of <see cref="Trainable"/> that the generator's optimizer updates (the parameters themselves in float32).</summary>
    public MasterWeights Masters { get; }
    public FakeScore Fake { get; }
    public AdamW GeneratorOptimizer { get; }
    /// <summary>The generator's EMA (null when off); the averaged expert is the one kept.</summary>
    public Ema? Ema { get; }
    /// <summary>Draws the re-noising times of the fake loss and of the generator gradient.</summary>
    public TimestepSampler Times { get; }

    /// <param name="fake">The phase's fake score, fresh from the teacher (owned by the caller: see <see cref="FakeScores"/>).</param>
    public PhaseState(int k, StudentGenerator student, DistillConfig c, PhaseLayout layout, FakeScore fake)
    {
        K = k;
        Expert = student.Expert(k);
        Trainable = student.TrainableParameters(k).ToList();
        foreach (var p in Trainable) p.requires_grad_(true);
        Fake = fake;
        Masters = new MasterWeights(Trainable);
        GeneratorOptimizer = optim.AdamW(Masters.Optimized, c.GeneratorLearningRate, c.Beta1, c.Beta2, weight_decay: c.WeightDecay);
        Ema = c.GeneratorEma > 0 ? new Ema(Expert, c.GeneratorEma) : null;
        var (s, upper) = c.RenoisingInterval(layout, k);
        Boundary = s;
        Times = new TimestepSampler(s, upper, layout.Shift, c.TimeMargin);
    }

    /// <summary>The phase's share of a checkpoint (the student and the random stream are the run's).</summary>
    /// <remarks>In bf16 the float32 masters of the expert and the fake score are parts of their own (<c>generator_master</c>, <c>fake_master</c>).</remarks>
    public CheckpointParts Checkpoint()
    {
        var parts = (Fake.AdapterParameters is { } adapters ? new CheckpointParts().Tensors("fake", adapters) : new CheckpointParts().Module("fake", Fake.Network))
            .Optimizer("fake_optimizer", Fake.Optimizer)
            .Optimizer("generator_optimizer", GeneratorOptimizer)
            .Ema("ema", Ema);
        if (Masters.Separate) parts = parts.Tensors("generator_master", Masters.Named());
        if (Fake.Masters.Separate) parts = parts.Tensors("fake_master", Fake.Masters.Named());
        return parts;
    }

    /// <summary>Ends the phase: the EMA expert is the one kept, and it is frozen (its gradients released).</summary>
    public void Finish()
    {
        Ema?.CopyTo(Expert);
        foreach (var p in Trainable)
        {
            p.grad = null;   // a frozen expert needs no gradient: a full one would keep a copy of the network's size per phase
            p.requires_grad_(false);
        }
    }

    public void Dispose()
    {
        Ema?.Dispose();
        GeneratorOptimizer.Dispose();
        Masters.Dispose();
    }
}
