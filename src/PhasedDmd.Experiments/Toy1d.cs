using System.Diagnostics;
using System.Globalization;
using System.Text;
using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using ScottPlot;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Experiments;

/// <summary>
/// The paper's Fig. 2 in 1D: three velocity MLPs conditioned on t only —
/// <c>full</c> (clean data, t ∈ (0, 1]), <c>subinterval</c> (Eq. 13 on (s, 1] from samples of x_s)
/// and <c>naive</c> (ε' − x_s on (s, 1]) — integrated with Euler from the same noises and
/// compared with the exact probability-flow trajectories of the mixture.
/// </summary>
public static class Toy1d
{
    public static readonly string[] ModelNames = ["full", "subinterval", "naive"];

    public static Toy1dResult Run(Toy1dConfig config, string outDir, Action<JobProgress>? progress = null)
    {
        config.Validate();
        var mixture = config.MixtureFile is null ? MixtureTasks.Gmm1d() : GaussianMixture.Load(config.MixtureFile);
        if (mixture.Dim != 1) throw new InputException($"toy1d: the mixture must be one-dimensional (got {mixture.Dim} dimensions)");
        var schedule = FlowMatchingSchedule.Instance;
        Runtime.Configure(config.Seed, config.Threads, "cpu");
        Directory.CreateDirectory(outDir);
        Json.Write(Path.Combine(outDir, ModelDirectory.RunConfigFile), config);
        var clock = Stopwatch.StartNew();
        var s = config.Boundary;

        var models = new Dictionary<string, VelocityModel>();
        var total = (long)config.Iterations * ModelNames.Length;
        for (var m = 0; m < ModelNames.Length; m++)
        {
            var name = ModelNames[m];
            models[name] = Train(name, mixture, schedule, config, p => progress?.Invoke(new JobProgress(m * config.Iterations + p.Done, total, $"{name} {p.Status}")));
        }

        // The same starting noises for every model and for the exact ODE.
        using var gen = Runtime.NewGenerator(config.Seed + 1000);
        var start = torch.randn(config.Trajectories, 1, generator: gen);
        var times = Enumerable.Range(0, config.EulerSteps + 1).Select(i => 1.0 - (1.0 - s) * i / config.EulerSteps).ToArray();
        var exact = mixture.OdeTrajectory(start, times, schedule, substeps: 20).squeeze(-1);          // [T, B]
        var paths = models.ToDictionary(kv => kv.Key, kv => EulerPath(kv.Value, start, times));        // [T, B]

        var errors = paths.ToDictionary(kv => kv.Key, kv => new TrajectoryError(
            (kv.Value[-1] - exact[-1].to(ScalarType.Float32)).abs().mean().item<float>(),
            (kv.Value - exact.to(ScalarType.Float32)).abs().mean().item<float>()));
        var result = new Toy1dResult(errors, s, config.Trajectories, config.EulerSteps, clock.Elapsed.TotalSeconds);

        WriteCsv(Path.Combine(outDir, "trajectories.csv"), paths, times);
        WriteCsv(Path.Combine(outDir, "exact_trajectories.csv"), new() { ["exact"] = exact.to(ScalarType.Float32) }, times);
        Json.WriteMetrics(Path.Combine(outDir, "metrics.json"), result);
        Plot(Path.Combine(outDir, "toy1d.png"), mixture, s, times, exact, paths, errors);
        foreach (var model in models.Values) model.Dispose();
        return result;
    }

    /// <summary>Trains one of the three models; each draws clean x_0 from the exact mixture.</summary>
    private static VelocityModel Train(string name, GaussianMixture mixture, NoiseSchedule schedule, Toy1dConfig c, Action<JobProgress> progress)
    {
        var model = new MlpSpec(1, c.Hidden, c.Layers).Build();
        using var opt = optim.AdamW(model.parameters(), c.LearningRate);
        using var ema = new Ema(model, c.EmaDecay);
        using var gen = Runtime.NewGenerator(c.Seed + Array.IndexOf(ModelNames, name) + 1);
        var fullSampler = TimestepSampler.Full(tMin: 1e-3);
        var subSampler = new TimestepSampler(c.Boundary, 1.0);
        for (var it = 1; it <= c.Iterations; it++)
        {
            using var scope = torch.NewDisposeScope();
            foreach (var g in opt.ParamGroups) g.LearningRate = c.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * it / c.Iterations));
            var (x0, _) = mixture.Sample(c.BatchSize, gen);
            var eps = torch.randn(x0.shape, generator: gen);
            Tensor loss;
            if (name == "full")
            {
                var t = fullSampler.Sample(c.BatchSize, gen).unsqueeze(1);
                var xt = Parameterization.Noise(schedule, x0, eps, t);
                loss = (model.Forward(xt, t.squeeze(1), null) - Parameterization.VelocityTarget(schedule, x0, eps, t)).square().mean();
            }
            else
            {
                // Only samples of x_s are seen: x_s = α_s x_0 + σ_s ε, then x_t from the forward kernel.
                var sT = torch.full(c.BatchSize, 1, c.Boundary);
                var xs = Parameterization.Noise(schedule, x0, eps, sT);
                var epsPrime = torch.randn(x0.shape, generator: gen);
                var t = subSampler.Sample(c.BatchSize, gen).unsqueeze(1);
                var xt = SubintervalScoreMatching.ForwardKernel(schedule, xs, epsPrime, t, sT);
                var prediction = model.Forward(xt, t.squeeze(1), null);
                loss = (name == "subinterval"
                    ? SubintervalScoreMatching.StableLoss(schedule, prediction, xs, epsPrime, t, sT)
                    : SubintervalScoreMatching.NaiveLoss(schedule, prediction, xs, epsPrime, t)).mean();
            }
            opt.zero_grad();
            PhasedDmd.Models.OneDnn.Backward(loss);
            opt.step();
            ema.Update(model);
            if (it % 100 == 0 || it == c.Iterations) progress(new JobProgress(it, c.Iterations, $"loss {loss.item<float>():F4}"));
        }
        ema.CopyTo(model);
        model.eval();
        return model;
    }

    private static Tensor EulerPath(VelocityModel model, Tensor start, double[] times)
    {
        using var _ = torch.no_grad();
        var states = new List<Tensor> { start.squeeze(1) };
        var x = start;
        for (var i = 0; i < times.Length - 1; i++)
        {
            var v = model.Forward(x, torch.full(x.shape[0], times[i]), null);
            x = ProbabilityFlow.EulerStep(x, v, times[i], times[i + 1]);
            states.Add(x.squeeze(1));
        }
        return torch.stack(states);
    }

    private static void WriteCsv(string path, Dictionary<string, Tensor> paths, double[] times)
    {
        var sb = new StringBuilder("model,trajectory,t,x\n");
        foreach (var (name, p) in paths)
        {
            var data = p.to(ScalarType.Float32).contiguous().data<float>().ToArray();
            var b = (int)p.shape[1];
            for (var j = 0; j < b; j++)
                for (var i = 0; i < times.Length; i++)
                    sb.Append(name).Append(',').Append(j).Append(',')
                      .Append(times[i].ToString("0.######", CultureInfo.InvariantCulture)).Append(',')
                      .Append(data[i * b + j].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    private static void Plot(string path, GaussianMixture mixture, double s, double[] times, Tensor exact, Dictionary<string, Tensor> paths, Dictionary<string, TrajectoryError> errors)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(ModelNames.Length);
        var exactData = exact.to(ScalarType.Float32).contiguous().data<float>().ToArray();
        var b = (int)exact.shape[1];
        var shown = Math.Min(b, 60);
        for (var m = 0; m < ModelNames.Length; m++)
        {
            var plot = multiplot.GetPlot(m);
            var name = ModelNames[m];
            var data = paths[name].contiguous().data<float>().ToArray();
            for (var j = 0; j < shown; j++)
            {
                var ex = plot.Add.ScatterLine(times, times.Select((_, i) => (double)exactData[i * b + j]).ToArray());
                ex.Color = Colors.Gray.WithAlpha(0.6);
                ex.LineWidth = 1;
                ex.LinePattern = LinePattern.Dashed;
                var line = plot.Add.ScatterLine(times, times.Select((_, i) => (double)data[i * b + j]).ToArray());
                line.Color = Colors.SteelBlue.WithAlpha(0.7);
                line.LineWidth = 1;
            }
            foreach (var mean in mixture.Means)
            {
                var h = plot.Add.HorizontalLine((1 - s) * mean[0]);
                h.Color = Colors.OrangeRed.WithAlpha(0.4);
                h.LineWidth = 1;
            }
            plot.Title($"{name}: |Δ| at t = {s:0.##}: {errors[name].AtBoundary:0.000}");
            plot.XLabel("t (dashed grey: exact ODE)");
            plot.YLabel("x");
            plot.Axes.SetLimitsX(1.0, s);
        }
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        multiplot.SavePng(path, 1500, 500);
    }
}
