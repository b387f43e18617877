using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Sampling;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Models;

/// <summary>A user's MLP built from TorchSharp's own <c>Linear</c> (no <see cref="LoraLinear"/>), run with <c>call</c>.</summary>
public sealed record PlainMlpSpec(int Hidden) : ModelSpec
{
    public override VelocityModel Build() => new PlainMlp(this);
    public override long[] SampleShape => [2];
}

public sealed class PlainMlp : VelocityModel
{
    private readonly PlainMlpSpec _spec;
    private readonly Linear input;
    private readonly Linear hidden;
    private readonly Linear output;

    public PlainMlp(PlainMlpSpec spec) : base(nameof(PlainMlp))
    {
        _spec = spec;
        input = nn.Linear(3, spec.Hidden);
        hidden = nn.Linear(spec.Hidden, spec.Hidden);
        output = nn.Linear(spec.Hidden, 2);
        RegisterComponents();
    }

    public override ModelSpec Spec => _spec;
    public override bool IsConditional => false;

    public override Tensor Forward(Tensor x, Tensor t, Tensor? condition)
    {
        using var scope = torch.NewDisposeScope();
        var h = nn.functional.silu(input.call(torch.cat([x, t.reshape(-1, 1)], dim: 1)));
        h = nn.functional.silu(hidden.call(h));
        return output.call(h).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// LoRA by name pattern on a network that has no <see cref="LoraLinear"/>: adapters attach to the layers the
/// pattern names, start as the identity, merge into plain weights exactly; distilled, experts and fake scores share
/// the teacher's base tensors (one copy) and only the adapters change.
/// </summary>
[Collection(SerialCollection.Name)]
public class AdapterTests
{
    private static (ModelCard Card, VelocityModel Teacher) Teacher()
    {
        ModelSpec.Register<PlainMlpSpec>("plain-mlp");
        torch.manual_seed(5);
        var spec = new PlainMlpSpec(16);
        return (new ModelCard { Task = new TaskSpec("my-points", new GaussianMixture([[1.0, 0.0], [-1.0, 0.0]], [0.3, 0.3], [0.5, 0.5])), Network = spec }, spec.Build());
    }

    [Fact]
    public void Adapters_attach_by_module_name_to_plain_linear_layers_and_merge_exactly()
    {
        var (_, model) = Teacher();
        using var _m = model;
        var x = torch.randn(9, 2);
        var t = torch.rand(9);
        using var before = model.Forward(x, t, null);
        var lora = LoraAdapters.Attach(model, rank: 3, alpha: 6, targets: "^(hidden|output)$", rng: null);
        Assert.Equal(["hidden", "output"], lora.Layers.Select(l => l.Name));
        Assert.Equal(["hidden.lora_A", "hidden.lora_B", "output.lora_A", "output.lora_B"], lora.Parameters.Select(p => p.Name));
        Assert.Contains(model.named_parameters(), p => p.name == "output.lora_B");
        Assert.All(model.named_parameters().Where(p => !p.name.Contains("lora_")), p => Assert.False(p.parameter.requires_grad));
        Assert.Equal(0.0, TestUtil.MaxAbs(model.Forward(x, t, null), before));   // B = 0: the identity
        using (torch.no_grad()) foreach (var l in lora.Layers) l.B.normal_();
        using var adapted = model.Forward(x, t, null);
        Assert.True(TestUtil.MaxAbs(adapted, before) > 1e-3, "the hook applies the adapter");
        using var plain = model.Spec.Build();
        StudentGenerator.CopyWeights(model, plain);
        lora.MergeInto(plain);
        Assert.True(TestUtil.MaxAbs(plain.Forward(x, t, null), adapted) < 1e-5);
        var peft = lora.PeftStateDict();
        Assert.Equal(new long[] { 2, 3 }, peft["base_model.model.output.lora_B.weight"].shape);
    }

    [Fact]
    public void A_pattern_that_names_no_linear_layer_and_a_network_without_marked_layers_are_refused_plainly()
    {
        var (_, model) = Teacher();
        using var _m = model;
        Assert.Contains("no linear layer's module path matches 'attention'",
            Assert.Throws<InputException>(() => LoraAdapters.Attach(model, 2, 2, "attention", null)).Message);
        Assert.Contains("--lora-targets", Assert.Throws<InputException>(() => LoraAdapters.Attach(model, 2, 2, null, null)).Message);
        Assert.Contains("not a regular expression", Assert.Throws<InputException>(() => LoraAdapters.Attach(model, 2, 2, "(", null)).Message);
    }

    [Fact]
    public void Lora_experts_and_fake_scores_share_the_teachers_base_and_train_only_adapters()
    {
        var (card, teacher) = Teacher();
        var original = teacher.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var config = new DistillConfig
        {
            Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = 6, BatchSize = 32, FakeUpdatesPerGeneratorUpdate = 2, LogEvery = 3, Threads = 1,
            Experts = ExpertKind.Lora, LoraRank = 2, LoraTargets = "hidden|output",
        };
        var distiller = new Distiller(config, card, teacher);
        using var fake = FakeScore.FromTeacher(distiller.Teacher, config, CPU, 1);
        var networks = new[] { distiller.Student.Expert(1), distiller.Student.Expert(2), fake.Network };
        // Aliasing, not equal copies: a change to the teacher's tensor shows in every expert and fake score.
        using (torch.no_grad())
        {
            foreach (var (name, p) in teacher.named_parameters()) p.mul_(2.0);
            foreach (var net in networks)
                foreach (var (name, p) in net.named_parameters().Where(p => !p.name.Contains("lora_")))
                    Assert.Equal(0.0, TestUtil.MaxAbs(p, teacher.state_dict()[name]));
            foreach (var (name, p) in teacher.named_parameters()) p.div_(2.0);
        }
        Assert.Equal(4, fake.Parameters.Count);
        Assert.Equal(4, distiller.Student.TrainableParameters(1).Count());
        using (var full = FakeScore.FromTeacher(distiller.Teacher, config with { FakeExperts = ExpertKind.Full }, CPU, 1))   // the paper's choice
            Assert.Equal(teacher.parameters().Count(), full.Parameters.Count);

        var dir = TestUtil.TempDir();
        distiller.Run(dir);
        foreach (var (name, p) in teacher.state_dict()) Assert.Equal(0.0, TestUtil.MaxAbs(p, original[name]));
        foreach (var k in new[] { 1, 2 })
        {
            Assert.All(distiller.Student.Expert(k).named_parameters().Where(p => !p.name.Contains("lora_")),
                p => Assert.Equal(0.0, TestUtil.MaxAbs(p.parameter, original[p.name])));
            Assert.Contains(distiller.Student.Adapters(k)!.Layers, l => TestUtil.Scalar(l.B.abs().max()) > 0);
        }
        // The saved student loads with the same adapters and samples like the one in memory.
        using var loaded = LoadedModel.Load(dir);
        var z = torch.randn(64, 2);
        Assert.Equal(0.0, TestUtil.MaxAbs(loaded.Student!.Sample(z, null), distiller.Student.Sample(z, null)));
        Assert.Contains("\"loraTargets\": \"hidden|output\"", File.ReadAllText(Path.Combine(dir, ModelDirectory.CardFile)));
    }

    [Fact]
    public void A_renewed_lora_fake_score_equals_a_fresh_one_of_that_phase()
    {
        var (card, teacher) = Teacher();
        var config = new DistillConfig { Method = "phased", Steps = 4, Phases = 2, BatchSize = 8, Threads = 1, Experts = ExpertKind.Lora, LoraRank = 2, LoraTargets = "hidden|output" };
        var distiller = new Distiller(config, card, teacher);
        using var fresh = FakeScore.FromTeacher(distiller.Teacher, config, CPU, 2);
        using var renewed = FakeScore.FromTeacher(distiller.Teacher, config, CPU, 1);
        using (torch.no_grad()) foreach (var p in renewed.Parameters) p.normal_();   // as if phase 1 had trained it
        renewed.Renew(config, 2);
        Assert.Equal(fresh.Parameters.Count, renewed.Parameters.Count);
        foreach (var (a, b) in fresh.Network.named_parameters().Zip(renewed.Network.named_parameters()))
            Assert.Equal(0.0, TestUtil.MaxAbs(a.parameter, b.parameter));
        Assert.Contains(fresh.Parameters, p => p.abs().sum().item<float>() > 0);   // A is drawn, not zero
    }
}
