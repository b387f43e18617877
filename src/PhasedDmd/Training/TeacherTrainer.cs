using System.Diagnostics;
using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.IO;
using PhasedDmd.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>Progress of a long job: done of total units, and a short status line.</summary>
public readonly record struct JobProgress(long Done, long Total, string Status);

/// <summary>
/// Flow-matching training of a teacher on an analytic task: regress v(x_t, t) on the
/// velocity target α' x_0 + σ' ε (ε − x_0 for flow matching), AdamW with warm-up and
/// cosine decay, optional EMA. Writes a complete model directory.
/// </summary>
public static class TeacherTrainer
{
    public static ModelCard Train(TeacherConfig config, string outDir, Action<JobProgress>? progress = null,
                                  bool resume = false, CancellationToken cancel = default, Action<string>? warn = null)
    {
        config.Validate();
        var mixture = config.ResolveMixture();
        var procedural = mixture is null ? ProceduralTasks.Resolve(config.Task) : null;
        var schedule = config.ResolveSchedule();
        var device = Runtime.Configure(config.Seed, config.Threads, config.Device);
        using var generator = Runtime.NewGenerator(config.Seed);

        if (!resume) ModelDirectory.RequireNoModelIn(outDir);
        Directory.CreateDirectory(outDir);
        var logPath = Path.Combine(outDir, ModelDirectory.LogFile);
        if (resume)
            RunState.RequireSameConfig(Json.Read<TeacherConfig>(Path.Combine(outDir, ModelDirectory.RunConfigFile), "saved config"), config, outDir);
        else
        {
            Json.Write(Path.Combine(outDir, ModelDirectory.RunConfigFile), config);
            if (File.Exists(logPath)) File.Delete(logPath);
        }

        var spec = config.BuildSpec(mixture);
        using var model = spec.Build();
        model.to(device).train();
        using var ema = config.EmaDecay > 0 ? new Ema(model, config.EmaDecay, warmup: true) : null;
        using var optimizer = optim.AdamW(model.parameters(), lr: config.LearningRate, weight_decay: config.WeightDecay);
        var sampler = TimestepSampler.Full(config.TrainShift, config.TMin);
        var store = new CheckpointStore(Path.Combine(outDir, "checkpoints"));
        var first = 1;
        if (resume)
        {
            var (_, path, saved) = RunState.LatestCheckpoint(outDir, warn);
            if (saved.ConfigHash != RunState.Hash(config)) throw new InputException($"resume: checkpoint {path} was written by a different config");
            RunState.LoadModule(model, Path.Combine(path, "model.safetensors"));
            RunState.LoadOptimizer(optimizer, Path.Combine(path, "optimizer.bin"));
            ema?.Load(Path.Combine(path, "ema.safetensors"));
            RunState.LoadRng(path, generator);
            TrainingLog.TruncateAfter(logPath, saved.Done);
            first = saved.Iteration + 1;
        }
        using var log = new TrainingLog(outDir, append: resume);
        var clock = Stopwatch.StartNew();

        for (var it = first; it <= config.Iterations; it++)
        {
            using var scope = torch.NewDisposeScope();
            var lr = LearningRateAt(config, it);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;

            var (x0, labels) = procedural?.SampleTraining(config.BatchSize, generator) ?? mixture!.Sample(config.BatchSize, generator);
            x0 = x0.to(device);
            var t = sampler.Sample(config.BatchSize, generator, device);
            var eps = torch.randn(x0.shape, generator: generator).to(device);
            var tb = t.reshape([t.shape[0], .. Enumerable.Repeat(1L, (int)x0.dim() - 1)]);
            var xt = Parameterization.Noise(schedule, x0, eps, tb);
            var target = Parameterization.VelocityTarget(schedule, x0, eps, tb);
            Tensor? condition = null;
            if (model.IsConditional)
            {
                // Prompt dropout: the null condition ∅ for a fraction of the batch (teaches the unconditional model for CFG).
                var drop = (torch.rand(config.BatchSize, generator: generator) < config.ConditionDropout)
                    .reshape([config.BatchSize, .. Enumerable.Repeat(1L, (int)labels.dim() - 1)]);
                condition = torch.where(drop, model.NullCondition(labels), labels).to(device);
            }

            var loss = nn.functional.mse_loss(model.Forward(xt, t, condition), target);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            ema?.Update(model);

            if (it % config.LogEvery == 0 || it == config.Iterations)
            {
                var lossValue = loss.item<float>();
                if (!float.IsFinite(lossValue))
                    throw new DivergenceException($"teacher training diverged at iteration {it} (loss {lossValue}); lower learningRate");
                log.Write(it, [("loss", lossValue), ("lr", lr), ("seconds", clock.Elapsed.TotalSeconds)]);
                progress?.Invoke(new JobProgress(it, config.Iterations, $"loss {lossValue:F4}"));
            }
            Runtime.ReleaseFinalizableNativeObjects();
            var cancelled = cancel.IsCancellationRequested;
            if (it < config.Iterations && (cancelled || (config.CheckpointEvery > 0 && it % config.CheckpointEvery == 0)))
            {
                log.Flush();
                var iteration = it;
                store.Save(it, dir =>
                {
                    RunState.SaveModule(model, Path.Combine(dir, "model.safetensors"));
                    RunState.SaveOptimizer(optimizer, Path.Combine(dir, "optimizer.bin"));
                    ema?.Save(Path.Combine(dir, "ema.safetensors"));
                    RunState.SaveRng(dir, generator);
                    RunState.WriteProgress(dir, new RunProgress(1, iteration, iteration, RunState.Hash(config), clock.Elapsed.TotalSeconds, 0));
                });
                if (cancelled) throw new OperationCanceledException($"interrupted at iteration {it}; checkpoint written to {store.Root}");
            }
        }
        log.Flush();

        var card = new ModelCard
        {
            Role = "teacher",
            Schedule = schedule.Name,
            Task = new TaskSpec(config.Task, mixture),
            Network = spec,
            Sampling = new SamplingDefaults(config.SampleSteps, config.SampleSolver, model.IsConditional ? config.SampleCfg : 1.0),
        };
        ema?.CopyTo(model);
        ModelDirectory.Save(outDir, card, model);
        return card;
    }

    /// <summary>Linear warm-up, then cosine decay to MinLearningRateFraction × LearningRate.</summary>
    public static double LearningRateAt(TeacherConfig c, int iteration)
    {
        if (iteration <= c.WarmupIterations) return c.LearningRate * iteration / Math.Max(1, c.WarmupIterations);
        var span = Math.Max(1, c.Iterations - c.WarmupIterations);
        var progress = Math.Min(1.0, (iteration - c.WarmupIterations) / (double)span);
        var floor = c.MinLearningRateFraction;
        return c.LearningRate * (floor + (1 - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
