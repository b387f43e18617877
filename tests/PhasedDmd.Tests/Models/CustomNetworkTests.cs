using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Sampling;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Models;

/// <summary>A user's own network: the exact flow-matching velocity of N(m, s² I) in 2-D, m and log s trainable.</summary>
public sealed record ExactGaussianSpec(double[] Mean, double Std) : ModelSpec
{
    public override VelocityModel Build() => new ExactGaussianModel(this);
    public override long[] SampleShape => [2];
}

public sealed class ExactGaussianModel : VelocityModel
{
    private readonly ExactGaussianSpec _spec;
    private readonly Parameter mean;
    private readonly Parameter log_std;

    public ExactGaussianModel(ExactGaussianSpec spec) : base(nameof(ExactGaussianModel))
    {
        _spec = spec;
        mean = new Parameter(torch.tensor(spec.Mean.Select(v => (float)v).ToArray()));
        log_std = new Parameter(torch.tensor((float)Math.Log(spec.Std)));
        RegisterComponents();
    }

    public override ModelSpec Spec => _spec;
    public override bool IsConditional => false;

    /// <summary>E[ε − x_0 | x_t] = −m + (t − (1 − t) s²) (x_t − (1 − t) m) / ((1 − t)² s² + t²).</summary>
    public override Tensor Forward(Tensor x, Tensor t, Tensor? condition)
    {
        using var scope = torch.NewDisposeScope();
        var tt = t.reshape(-1, 1);
        var s2 = (2 * log_std).exp();
        var d = x - (1 - tt) * mean;
        return (-mean + (tt - (1 - tt) * s2) * d / ((1 - tt).square() * s2 + tt.square())).MoveToOuterDisposeScope();
    }
}

/// <summary>The same network under a spec type nobody registers.</summary>
public sealed record UnregisteredSpec(double[] Mean, double Std) : ModelSpec
{
    public override VelocityModel Build() => new ExactGaussianModel(new ExactGaussianSpec(Mean, Std));
    public override long[] SampleShape => [2];
}

/// <summary>
/// From C#, a <see cref="VelocityModel"/> of the user's own is a teacher: once its spec type is registered, it distils,
/// the student's card is saved and read back, and the student samples the teacher's distribution. Unregistered, the
/// run is refused before it starts (not when the student's card is written at the end).
/// </summary>
[Collection(SerialCollection.Name)]
public class CustomNetworkTests
{
    private static readonly DistillConfig Config = new()
    {
        Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 10, BatchSize = 64, FakeUpdatesPerGeneratorUpdate = 2, LogEvery = 5, Threads = 1,
    };

    [Fact]
    public void A_registered_network_of_the_users_own_is_distilled_saved_and_loaded()
    {
        ModelSpec.Register<ExactGaussianSpec>("exact-gaussian");
        var spec = new ExactGaussianSpec([1.5, -0.5], 0.5);
        var card = new ModelCard { Task = new TaskSpec("my-gaussian", new GaussianMixture([[1.5, -0.5]], [0.5], [1.0])), Network = spec };
        var dir = Path.Combine(TestUtil.TempDir(), "student");
        using (var teacher = spec.Build())
            new Distiller(Config, card, teacher).Run(dir);

        Assert.Contains("\"kind\": \"exact-gaussian\"", File.ReadAllText(Path.Combine(dir, ModelDirectory.CardFile)));
        using var student = LoadedModel.Load(dir);
        Assert.IsType<ExactGaussianSpec>(student.Card.Network);
        Assert.Equal([1.5, -0.5], ((ExactGaussianSpec)student.Card.Network).Mean);
        using var x = ModelSampling.Sample(student, new SampleOptions(N: 4000, Seed: 2));
        for (var d = 0; d < 2; d++)
        {
            using var column = x.select(1, d);
            Assert.InRange(TestUtil.Scalar(column.mean()), spec.Mean[d] - 0.05, spec.Mean[d] + 0.05);
            Assert.InRange(TestUtil.Scalar(column.std()), 0.25, 0.6);   // 4 Euler steps, briefly trained: narrower than the teacher's 0.5
        }
    }

    [Fact]
    public void An_unregistered_network_is_refused_before_training_starts()
    {
        var spec = new UnregisteredSpec([0, 0], 1);
        var card = new ModelCard { Task = new TaskSpec("mine"), Network = spec };
        using var teacher = spec.Build();
        var e = Assert.Throws<InputException>(() => new Distiller(Config, card, teacher));
        Assert.Contains("ModelSpec.Register<UnregisteredSpec>", e.Message);
    }

    [Fact]
    public void A_card_naming_an_unknown_kind_is_an_input_error_listing_the_known_ones()
    {
        var e = Assert.Throws<InputException>(() => Json.Parse<ModelCard>("""{"task": {"name": "x"}, "network": {"kind": "mystery"}}""", "model card"));
        Assert.Contains("unknown network kind 'mystery'", e.Message);
        Assert.Contains("mlp", e.Message);
        Assert.Throws<ArgumentException>(() => ModelSpec.Register<ExactGaussianSpec>("mlp"));
    }
}
