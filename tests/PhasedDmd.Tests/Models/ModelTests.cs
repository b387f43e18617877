using PhasedDmd.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Models;

public class ModelTests
{
    [Fact]
    public void Mlp_maps_points_and_times_to_velocities_of_the_same_shape()
    {
        using var model = new MlpSpec(DataDim: 3, Hidden: 32, Layers: 4).Build();
        using var v = model.Forward(torch.randn(5, 3), torch.rand(5), null);
        Assert.Equal(new long[] { 5, 3 }, v.shape);
        Assert.False(model.IsConditional);
        Assert.Throws<InvalidOperationException>(() => model.NullCondition(torch.zeros(5, ScalarType.Int64)));
    }

    [Fact]
    public void Mlp_depends_on_time_and_on_the_class()
    {
        using var model = new MlpSpec(DataDim: 2, Hidden: 32, NumClasses: 3).Build();
        var x = torch.randn(4, 2);
        var c = torch.tensor(new long[] { 0, 1, 2, 0 });
        var t = torch.full(4, 0.5f);
        Assert.True(TestUtil.MaxAbs(model.Forward(x, t, c), model.Forward(x, torch.full(4, 0.9f), c)) > 1e-4);
        Assert.True(TestUtil.MaxAbs(model.Forward(x, t, c), model.Forward(x, t, model.NullCondition(c))) > 1e-4);
        Assert.Equal(new long[] { 3, 3, 3, 3 }, model.NullCondition(c).data<long>().ToArray());
    }

    [Fact]
    public void Guided_velocity_is_the_cfg_combination_of_two_plain_passes()
    {
        using var model = new MlpSpec(DataDim: 2, Hidden: 32, NumClasses: 3).Build();
        var x = torch.randn(6, 2);
        var t = torch.rand(6);
        var c = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2 });
        var cond = model.Forward(x, t, c);
        var uncond = model.Forward(x, t, model.NullCondition(c));
        var expected = uncond + 4.0 * (cond - uncond);
        Assert.True(TestUtil.MaxAbs(model.GuidedVelocity(x, t, c, 4.0), expected) < 1e-5);
        Assert.True(TestUtil.MaxAbs(model.GuidedVelocity(x, t, c, 1.0), cond) < 1e-6);
    }

    [Fact]
    public void Lora_adapter_starts_as_the_identity_and_merges_exactly()
    {
        using var model = new MlpSpec(DataDim: 3, Hidden: 8, Layers: 3).Build();
        var x = torch.randn(7, 3);
        var t = torch.rand(7);
        var before = model.Forward(x, t, null);
        var lora = LoraAdapters.Attach(model, rank: 4, alpha: 8, targets: null, rng: null);
        Assert.True(TestUtil.MaxAbs(model.Forward(x, t, null), before) < 1e-7);
        Assert.All(lora.Layers, l => Assert.Equal(2.0, l.Scale));
        using (torch.no_grad()) foreach (var l in lora.Layers) l.B.normal_();
        var adapted = model.Forward(x, t, null);
        Assert.True(TestUtil.MaxAbs(adapted, before) > 1e-3);
        // y = x (W + (α/r) B A)ᵀ + b, layer by layer
        using var plain = model.Spec.Build();
        PhasedDmd.Generators.StudentGenerator.CopyWeights(model, plain);
        lora.MergeInto(plain);
        Assert.True(TestUtil.MaxAbs(plain.Forward(x, t, null), adapted) < 1e-5);
    }

    [Fact]
    public void Adaptable_layers_are_every_linear_layer_of_the_mlp()
    {
        using var model = new MlpSpec(DataDim: 2, Hidden: 16, Layers: 5).Build();
        Assert.Equal(5, model.AdaptableLayers().Count());
    }
}
