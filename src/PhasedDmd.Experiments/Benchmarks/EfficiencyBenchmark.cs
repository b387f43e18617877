using System.Diagnostics;
using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Experiments.Benchmarks;

public static class EfficiencyBenchmark
{
    /// <summary>Best rate of repeated products [m, k] × [k, n] in <paramref name="dtype"/> (float32 by default; after one warm-up).</summary>
    public static double MatmulGflops(long m, long k, long n, int repeats = 10, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn(m, k).to(dtype);
        var b = torch.randn(k, n).to(dtype);
        torch.mm(a, b).Dispose();
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            torch.mm(a, b).Dispose();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return 2.0 * m * k * n / best / 1e9;
    }

    /// <summary>The peak: the best of square products of a few sizes.</summary>
    public static double MatmulPeak(bool quick)
        => (quick ? new long[] { 1024 } : [1024, 2048]).Max(size => MatmulGflops(size, size, size, quick ? 5 : 10));

    /// <summary>
    /// Times teacher training steps of the glyphs DiT (flow-matching loss, AdamW) on a fixed batch
    /// (data generation excluded), split into forward, backward and optimizer, and relates the
    /// counted FLOPs to the matmul peak; the model's own matmul shapes are measured too.
    /// </summary>
    public static EfficiencyMeasurement Measure(int threads, int batch, int warmup, int repeats, bool quick, int seed = 0)
    {
        Runtime.Configure(seed, threads, "cpu");
        var (_, model) = BenchSetup.Teacher(BenchModel.Dit, seed);
        using var _m = model;
        var spec = new Tasks.GlyphsDefinition().TeacherSpec(TeacherConfig.ForTask("glyphs"));   // the network BenchSetup built
        model.train();
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-4);
        using var generator = Runtime.NewGenerator(seed);
        var task = new GlyphsTask();
        var schedule = NoiseSchedule.FromName("flow");
        var (x0, prompts) = task.SampleTraining(batch, generator);
        using var _x = x0;
        using var _p = prompts;

        var forward = new List<double>();
        var backward = new List<double>();
        var step = new List<double>();
        for (var i = 0; i < warmup + repeats; i++)
        {
            using var scope = torch.NewDisposeScope();
            var t = torch.rand(batch, generator: generator);
            var eps = torch.randn(x0.shape, generator: generator);
            var tb = t.reshape(batch, 1, 1, 1);
            var xt = Parameterization.Noise(schedule, x0, eps, tb);
            var target = Parameterization.VelocityTarget(schedule, x0, eps, tb);
            var clock = Stopwatch.StartNew();
            var loss = nn.functional.mse_loss(model.Forward(xt, t, prompts), target);
            loss.item<float>();
            var f = clock.Elapsed.TotalSeconds;
            optimizer.zero_grad();
            PhasedDmd.Models.OneDnn.Backward(loss);
            var b = clock.Elapsed.TotalSeconds;
            optimizer.step();
            var total = clock.Elapsed.TotalSeconds;
            if (i < warmup) continue;
            forward.Add(f);
            backward.Add(b - f);
            step.Add(total);
        }

        var flops = Flops.DitTrainingStep(spec, batch);
        var median = Stats.Median(step);
        var achieved = flops / median / 1e9;
        var peak = MatmulPeak(quick);
        long rows = batch * spec.Tokens, w = spec.Width;
        var shapes = new List<MatmulRate>
        {
            new("tokens × width → 3·width (qkv)", rows, w, 3 * w, MatmulGflops(rows, w, 3 * w)),
            new("tokens × width → 4·width (MLP in)", rows, w, spec.MlpRatio * w, MatmulGflops(rows, w, spec.MlpRatio * w)),
            new("tokens × 4·width → width (MLP out)", rows, spec.MlpRatio * w, w, MatmulGflops(rows, spec.MlpRatio * w, w)),
            new("per-head attention scores", spec.Tokens, w / spec.Heads, spec.Tokens, MatmulGflops(spec.Tokens, w / spec.Heads, spec.Tokens)),
        };
        peak = Math.Max(peak, shapes.Max(m => m.GflopPerSecond));   // the best product this process achieved
        var (profile, forwardNoGrad) = ProfileForward(model, spec, x0, prompts, generator);
        return new EfficiencyMeasurement(torch.get_num_threads(), batch, flops, median, achieved, peak, achieved / peak,
            Stats.Median(forward), Stats.Median(backward), median - Stats.Median(forward) - Stats.Median(backward), shapes,
            profile, forwardNoGrad);
    }

    private static double TimeIt(Func<Tensor> work, int repeats = 10)
    {
        using (torch.NewDisposeScope()) work();
        var seconds = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            using var scope = torch.NewDisposeScope();
            var clock = Stopwatch.StartNew();
            work();
            seconds.Add(clock.Elapsed.TotalSeconds);
        }
        return Stats.Median(seconds);
    }

    /// <summary>
    /// Where the forward time goes: the whole forward without gradient, and each kind of work of
    /// the blocks timed alone on tensors of the model's shapes (× depth): the linear layers, the
    /// attention core, and the element-wise work (layer norms, adaLN modulation, GELU, residuals).
    /// </summary>
    private static (List<ForwardPart> Parts, double Forward) ProfileForward(Models.VelocityModel model, DitSpec spec, Tensor x0, Tensor prompts, Generator generator)
    {
        using var noGrad = torch.no_grad();
        long b = x0.shape[0], n = spec.Tokens, w = spec.Width, heads = spec.Heads, d = w / heads, r = spec.MlpRatio * w;
        using var t = torch.rand(b, generator: generator);
        var forward = TimeIt(() => model.Forward(x0, t, prompts));
        using var h = torch.randn(b, n, w);
        using var hidden = torch.randn(b, n, r);
        using var mod = torch.randn(b, 1, w);
        using var q = torch.randn(b, heads, n, d);
        using var qkv = nn.Linear(w, 3 * w);
        using var proj = nn.Linear(w, w);
        using var fc1 = nn.Linear(w, r);
        using var fc2 = nn.Linear(r, w);
        var depth = spec.Depth;
        var linear = depth * TimeIt(() => { qkv.forward(h); proj.forward(h); fc1.forward(h); return fc2.forward(hidden); });
        var attention = depth * TimeIt(() => nn.functional.scaled_dot_product_attention(q, q, q));
        var elementwise = depth * TimeIt(() =>
        {
            var a = nn.functional.layer_norm(h, [w], eps: 1e-6) * (mod + 1) + mod;   // norm + modulate, twice per block
            var f = nn.functional.layer_norm(a, [w], eps: 1e-6) * (mod + 1) + mod;
            var g = nn.functional.gelu(hidden);
            return h + mod * f + mod * a + g.sum();                                  // gated residuals
        });
        double lf = depth * (Flops.Linear(b * n, w, 3 * w) + Flops.Linear(b * n, w, w) + Flops.Linear(b * n, w, r) + Flops.Linear(b * n, r, w));
        var parts = new List<ForwardPart>
        {
            new("linear layers (q/k/v, projection, MLP)", linear, lf),
            new("attention core (softmax(QKᵀ/√d) V)", attention, depth * 4.0 * b * n * n * w),
            new("element-wise (layer norm, modulation, GELU, residuals)", elementwise, 0),
        };
        parts.Add(new("rest (patchify, embeddings, reshapes, framework overhead)", Math.Max(0, forward - parts.Sum(p => p.Seconds)), 0));
        return (parts, forward);
    }
}
