using PhasedDmd.Diffusion;
using PhasedDmd.IO;
using PhasedDmd.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>
/// Flow-matching training of a teacher on its task's data (<see cref="Tasks.TaskDefinition.OpenTeacherData"/>):
/// regress v(x_t, t, c) on the velocity target α' x_0 + σ' ε (ε − x_0 for flow matching), AdamW with
/// warm-up and cosine decay, EMA with warm-up. Resumable through <see cref="RunDirectory"/>; writes a
/// complete model directory.
/// </summary>
public static class TeacherTrainer
{
    /// <summary>
    /// Trains the teacher of <paramref name="config"/> into <paramref name="outDir"/> (or resumes it there),
    /// checkpointing every CheckpointEvery iterations and when cancelled, and writes its model directory.
    /// </summary>
    /// <param name="sync">The data-parallel group (default: one process); each rank draws its share of the batch.</param>
    public static ModelCard Train(TeacherConfig config, string outDir, RunOptions? options = null, IGradientSync? sync = null)
    {
        options ??= new RunOptions();
        sync ??= SingleProcess.Instance;
        config.Validate();
        if (config.BatchSize % sync.WorldSize != 0)
            throw new InputException($"batchSize: the batch of {config.BatchSize} does not split evenly over {sync.WorldSize} processes");
        var batch = config.BatchSize / sync.WorldSize;
        var schedule = config.ResolveSchedule();
        var device = Runtime.Configure(config.Seed, config.Threads, config.Device);
        var data = config.Definition.OpenTeacherData(config);   // after seeding: checking a DiT's sizes builds one
        using var generator = Runtime.RankGenerator(config.Seed, sync.Rank);
        using var run = RunDirectory.Open(outDir, config, options.Resume, sync.Rank == 0, warn: options.Warn, worldSize: sync.WorldSize);
        List<ITrainingObserver> observers = [.. options.AllObservers];
        if (run.Log is not null) observers.Insert(0, run.Log);

        using var model = data.Spec.Build();
        model.to(device).train();
        using var ema = config.EmaDecay > 0 ? new Ema(model, config.EmaDecay, warmup: true) : null;
        using var optimizer = optim.AdamW(model.parameters(), lr: config.LearningRate, weight_decay: config.WeightDecay);
        var parameters = model.parameters().ToList();
        var sampler = TimestepSampler.Full(config.TrainShift, config.TMin);
        var parts = new CheckpointParts().Module("model", model).Optimizer("optimizer", optimizer).Ema("ema", ema).Rng("rng", generator, sync);
        if (run.ResumedFrom is { } checkpoint) parts.LoadFrom(checkpoint);
        sync.RequireIdentical(parameters, "the teacher's initial weights");
        var first = run.Start.Iteration + 1;
        foreach (var o in observers) o.PhaseStarted(1, first);

        new TrainingLoop(it =>
            {
                var lr = LearningRateAt(config, it);
                foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
                var loss = FlowMatchingLoss(model, config, schedule, data.Sample, sampler, batch, generator, device);
                optimizer.zero_grad();
                Models.OneDnn.Backward(loss);
                sync.AverageGradients(parameters);
                optimizer.step();
                ema?.Update(model);

                IReadOnlyList<(string, double)>? logged = null;
                var status = "";
                if (it % config.LogEvery == 0 || it == config.Iterations)
                {
                    var lossValue = loss.item<float>();
                    if (!sync.AllFinite(float.IsFinite(lossValue)))   // every rank stops together
                        throw new DivergenceException($"teacher training diverged at iteration {it} (loss {lossValue}); lower learningRate");
                    logged = [("loss", lossValue), ("lr", lr), ("seconds", run.Seconds)];
                    status = $"loss {lossValue:F4}";
                }
                return new UpdateReport(it, config.Iterations, 1, it, status, logged);
            },
            CompareChecksums: () => sync.RequireIdentical(parameters, "the teacher"),
            Checkpoint: it =>
            {
                run.Checkpoint(1, it, it, 0, parts);
                foreach (var o in observers) o.CheckpointWritten(1, it, phaseEnd: false);
            },
            Interrupted: it => $"interrupted at iteration {it}; checkpoint written to {run.Checkpoints.Root}",
            observers, sync, options.Cancel, config.CheckpointEvery).Run(first, config.Iterations);

        var card = new ModelCard
        {
            Role = "teacher",
            Schedule = schedule.Name,
            Task = data.Card,
            Network = data.Spec,
            Sampling = new SamplingDefaults(config.SampleSteps, config.SampleSolver, model.IsConditional ? config.SampleCfg : 1.0),
        };
        ema?.CopyTo(model);
        sync.RequireIdentical(parameters, "the teacher");   // what rank 0 saves is every rank's model
        if (run.IsWriter) ModelDirectory.Save(outDir, card, model);
        run.Finish(config.Iterations, torch.get_num_threads());
        return card;
    }

    /// <summary>
    /// The flow-matching loss on a fresh batch: ‖v(x_t, t, c) − (α' x_0 + σ' ε)‖² (method.md §1), with
    /// prompt dropout replacing a fraction of the conditions by the null condition ∅ (what CFG needs).
    /// </summary>
    private static Tensor FlowMatchingLoss(VelocityModel model, TeacherConfig config, NoiseSchedule schedule, Func<int, Generator, (Tensor, Tensor)> data,
                                           TimestepSampler sampler, int batch, Generator generator, Device device)
    {
        var (x0, labels) = data(batch, generator);
        x0 = x0.to(device);
        var t = sampler.Sample(batch, generator, device);
        var eps = Noise.Gaussian(x0.shape, generator, device);
        var tb = ProbabilityFlow.PerSample(t, x0);
        var xt = Parameterization.Noise(schedule, x0, eps, tb);
        var target = Parameterization.VelocityTarget(schedule, x0, eps, tb);
        Tensor? condition = null;
        if (model.IsConditional)
        {
            var drop = ProbabilityFlow.PerSample(torch.rand(batch, generator: generator) < config.ConditionDropout, labels);
            condition = torch.where(drop, model.NullCondition(labels), labels).to(device);
        }
        return nn.functional.mse_loss(model.Forward(xt, t, condition), target);
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
