using PhasedDmd.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Training;

[Collection(SerialCollection.Name)]
public class EmaTests
{
    /// <summary>A one-parameter module whose value the test sets directly.</summary>
    private sealed class OneParameter : nn.Module
    {
        private readonly TorchSharp.Modules.Parameter value;
        public OneParameter(double v) : base(nameof(OneParameter)) { value = new TorchSharp.Modules.Parameter(torch.full(1, v, dtype: ScalarType.Float64)); RegisterComponents(); }
        public double Value => value.item<double>();
        public void Set(double v) { using var _ = torch.no_grad(); value.fill_(v); }
    }

    /// <summary>The weight the average still gives the initial value after n updates: Π_k β_k.</summary>
    private static double InitialWeight(double decay, int n)
    {
        var w = 1.0;
        for (var k = 1; k <= n; k++) w *= Ema.DecayAt(decay, k);
        return w;
    }

    [Fact]
    public void The_average_forgets_the_initial_weights_within_the_warm_up()
    {
        // Start at 0, then hold the parameter at 1: the average is 1 − (the initial value's weight).
        // With β_k = (1 + k)/(10 + k) the product telescopes to 10!·(n+1)!/(n+10)!, i.e. 10/C(n+10, 9)
        // (while β_k is below the nominal decay): after 50 updates 7e-10, where a plain
        // β = 0.999 average would still hold 0.999⁵⁰ = 95% of the initial weights.
        using var module = new OneParameter(0);
        using var ema = new Ema(module, 0.999, warmup: true);
        module.Set(1);
        for (var n = 1; n <= 50; n++) ema.Update(module);
        using var target = new OneParameter(-5);
        ema.CopyTo(target);
        var binomial = 1.0;
        for (var i = 1; i <= 9; i++) binomial *= (50.0 + i + 1) / i;   // C(60, 9)
        Assert.Equal(10 / binomial, 1 - target.Value, 12);
        Assert.Equal(10 / binomial, InitialWeight(0.999, 50), 15);
        Assert.True(1 - target.Value < 1e-9);
        // later the nominal decay takes over: (1 + n)/(10 + n) reaches 0.999 at n = 8990
        Assert.Equal(0.999, Ema.DecayAt(0.999, 9000));
        Assert.True(Ema.DecayAt(0.999, 8000) < 0.999);
        // without warm-up (distillation: the average starts from the teacher's weights on purpose) β is constant
        using var plain = new Ema(module, 0.9);
        module.Set(0);
        plain.Update(module);
        plain.CopyTo(target);
        Assert.Equal(0.9, target.Value, 12);
    }

    [Fact]
    public void A_saved_average_resumes_with_its_update_count()
    {
        var path = Path.Combine(TestUtil.TempDir(), "ema.safetensors");
        using var module = new OneParameter(0);
        using var continued = new Ema(module, 0.9, warmup: true);
        var values = new[] { 1.0, 3.0, -2.0, 4.0, 0.5 };
        for (var i = 0; i < 3; i++) { module.Set(values[i]); continued.Update(module); }
        continued.Save(path);
        using var resumed = new Ema(module, 0.9, warmup: true);
        resumed.Load(path);
        for (var i = 3; i < 5; i++) { module.Set(values[i]); continued.Update(module); resumed.Update(module); }
        using var a = new OneParameter(0);
        using var b = new OneParameter(0);
        continued.CopyTo(a);
        resumed.CopyTo(b);
        Assert.Equal(a.Value, b.Value, 12);
        // the same sequence by hand: β_4 = min(0.9, 5/14), β_5 = min(0.9, 6/15)
        var expected = 0.0;
        for (var n = 1; n <= 5; n++) { var beta = Ema.DecayAt(0.9, n); expected = beta * expected + (1 - beta) * values[n - 1]; }
        Assert.Equal(expected, b.Value, 12);
    }

    [Fact]
    public void An_average_saved_without_a_count_loads_as_warmed_up()
    {
        // Checkpoints written before the warm-up existed have no count: they continue at the nominal decay.
        var path = Path.Combine(TestUtil.TempDir(), "ema.safetensors");
        using (var shadow = torch.full(1, 2.0, dtype: ScalarType.Float64))
            TorchSharp.PyBridge.Safetensors.SaveStateDict(path, new Dictionary<string, Tensor> { ["value"] = shadow });
        using var module = new OneParameter(0);
        using var ema = new Ema(module, 0.9, warmup: true);
        ema.Load(path);
        module.Set(12);
        ema.Update(module);
        ema.CopyTo(module);
        Assert.Equal(0.9 * 2 + 0.1 * 12, module.Value, 12);
    }
}
