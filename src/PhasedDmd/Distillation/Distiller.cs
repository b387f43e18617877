using System.Diagnostics;
using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// Distils a frozen teacher into a K-expert, N-step student (method.md §2–§4). Phases run in
/// order; in phase k the experts of earlier phases are frozen, a fresh fake score is copied
/// from the teacher, and each generator update is preceded by
/// <see cref="DistillConfig.FakeUpdatesPerGeneratorUpdate"/> fake updates on fresh boundary samples.
/// </summary>
public sealed class Distiller
{
    private readonly DistillConfig _config;
    private readonly PhaseLayout _layout;
    private readonly ModelCard _teacherCard;
    private readonly VelocityModel _teacher;
    private readonly NoiseSchedule _schedule;
    private readonly Device _device;
    private readonly Generator _rng;

    public StudentGenerator Student { get; }

    public Distiller(DistillConfig config, ModelCard teacherCard, VelocityModel teacher)
    {
        _config = config;
        _layout = config.Validate();
        _teacherCard = teacherCard;
        _schedule = NoiseSchedule.FromName(teacherCard.Schedule);
        _device = Runtime.Configure(config.Seed, config.Threads, config.Device);
        _rng = Runtime.NewGenerator(config.Seed);
        _teacher = teacher;
        _teacher.to(_device).eval();
        foreach (var p in _teacher.parameters()) p.requires_grad_(false);

        var spec = new StudentSpec(_layout, config.Experts, config.LoraRank, config.LoraAlpha, config.Solver, config.Method);
        Student = StudentGenerator.FromTeacher(_teacher, spec, _schedule, _rng);
        if (config.InitFrom is not null) LoadEarlierExperts(config.InitFrom);
        foreach (var p in Student.parameters()) p.requires_grad_(false);
    }

    /// <summary>
    /// Runs every phase from StartPhase on (or, with <paramref name="resume"/>, from the newest
    /// intact checkpoint in <paramref name="outDir"/>) and writes the student's model directory.
    /// Checkpoints are written every CheckpointEvery updates, at every phase boundary and when
    /// <paramref name="cancel"/> fires (then <see cref="OperationCanceledException"/> is thrown).
    /// </summary>
    public ModelCard Run(string outDir, Action<JobProgress>? progress = null, bool resume = false,
                         CancellationToken cancel = default, Action<string>? warn = null)
    {
        if (!resume) ModelDirectory.RequireNoModelIn(outDir);
        Directory.CreateDirectory(outDir);
        var store = new CheckpointStore(Path.Combine(outDir, "checkpoints"));
        var logPath = Path.Combine(outDir, ModelDirectory.LogFile);
        var start = new RunProgress(_config.StartPhase, 0, 0, RunState.Hash(_config), 0, 0);
        string? checkpoint = null;
        if (resume)
        {
            var saved = Json.Read<DistillConfig>(Path.Combine(outDir, ModelDirectory.RunConfigFile), "saved config");
            RunState.RequireSameConfig(saved, _config, outDir);
            (_, checkpoint, start) = RunState.LatestCheckpoint(outDir, warn);
            if (start.ConfigHash != RunState.Hash(_config))
                throw new InputException($"resume: checkpoint {checkpoint} was written by a different config");
            RunState.LoadModule(Student, Path.Combine(checkpoint, "student.safetensors"));
            foreach (var p in Student.parameters()) p.requires_grad_(false);
            RunState.LoadRng(checkpoint, _rng);
            TrainingLog.TruncateAfter(logPath, start.Done);
        }
        else
        {
            Json.Write(Path.Combine(outDir, ModelDirectory.RunConfigFile), _config);
            if (File.Exists(logPath)) File.Delete(logPath);
        }

        using var log = new TrainingLog(outDir, append: resume);
        var total = Enumerable.Range(_config.StartPhase, _layout.Phases - _config.StartPhase + 1).Sum(_config.IterationsOf);
        var state = new LoopState(store, log, start.Done, start.SkippedUpdates, Stopwatch.StartNew(), start.Seconds, total, progress, cancel);
        for (var k = start.Phase; k <= _layout.Phases; k++)
            TrainPhase(k, k == start.Phase ? start.Iteration : 0, k == start.Phase && start.Iteration > 0 ? checkpoint : null, state);
        log.Flush();
        var card = StudentCard();
        StudentDirectory.Save(outDir, card, Student);
        var seconds = state.Seconds;
        Json.Write(Path.Combine(outDir, "resources.json"), new RunResources(
            seconds, state.Done, seconds / Math.Max(1, state.Done),
            ProcessResources.PeakRssBytes() / (1024.0 * 1024.0), torch.get_num_threads()));
        return card;
    }

    public ModelCard StudentCard() => new()
    {
        Role = "student",
        Schedule = _schedule.Name,
        Task = _teacherCard.Task,
        Network = _teacherCard.Network,
        Student = Student.Spec,
        Sampling = new SamplingDefaults(_layout.Steps, "euler", 1.0, _layout.Shift),
    };

    /// <summary>Mutable bookkeeping of one Run, shared by its phases.</summary>
    private sealed class LoopState(CheckpointStore store, TrainingLog log, long done, long skipped, Stopwatch clock, double previousSeconds,
                                   long total, Action<JobProgress>? progress, CancellationToken cancel)
    {
        public CheckpointStore Store { get; } = store;
        public TrainingLog Log { get; } = log;
        public long Done { get; set; } = done;
        public long Skipped { get; set; } = skipped;
        public long Total { get; } = total;
        public Action<JobProgress>? Progress { get; } = progress;
        public CancellationToken Cancel { get; } = cancel;
        public double Seconds => previousSeconds + clock.Elapsed.TotalSeconds;
    }

    /// <summary>The mutable state of one phase: its expert, fresh fake score, optimizers and EMA.</summary>
    private sealed class PhaseSession : IDisposable
    {
        public int K { get; }
        public double S { get; }
        public VelocityModel Expert { get; }
        public List<Parameter> Trainable { get; }
        public VelocityModel Fake { get; }
        public AdamW FakeOpt { get; }
        public AdamW GenOpt { get; }
        public Ema? Ema { get; }
        public TimestepSampler Sampler { get; }

        public PhaseSession(Distiller d, int k)
        {
            K = k;
            Expert = d.Student.Expert(k);
            Trainable = d.Student.TrainableParameters(k).ToList();
            foreach (var p in Trainable) p.requires_grad_(true);
            Fake = d._teacher.Spec.Build();
            Fake.to(d._device).train();
            StudentGenerator.CopyWeights(d._teacher, Fake);                   // re-initialised from the teacher every phase
            var c = d._config;
            FakeOpt = optim.AdamW(Fake.parameters(), c.FakeLearningRate, c.Beta1, c.Beta2, weight_decay: c.WeightDecay);
            GenOpt = optim.AdamW(Trainable, c.GeneratorLearningRate, c.Beta1, c.Beta2, weight_decay: c.WeightDecay);
            Ema = c.GeneratorEma > 0 ? new Ema(Expert, c.GeneratorEma) : null;
            S = d._layout.BoundaryTime(k);
            var upper = c.Interval == IntervalKind.Nested ? 1.0 : d._layout.StartTime(k);
            Sampler = new TimestepSampler(S, upper, d._layout.Shift, c.TimeMargin);
        }

        /// <summary>Ends the phase: the EMA expert is the one kept, and it is frozen.</summary>
        public void Finish()
        {
            Ema?.CopyTo(Expert);
            foreach (var p in Trainable) p.requires_grad_(false);
        }

        public void Dispose()
        {
            Ema?.Dispose();
            GenOpt.Dispose();
            FakeOpt.Dispose();
            Fake.Dispose();
        }
    }

    /// <summary>What one generator update measured; Finite is false when it was skipped.</summary>
    private readonly record struct UpdateResult(float GeneratorLoss, double FakeLoss, double GradNorm, double Scale, int Exit, Tensor T, bool Finite);

    /// <summary>
    /// One generator update of the phase, preceded by its fake-score updates. Never steps on a
    /// non-finite loss or gradient. Tensors it returns belong to the caller's dispose scope.
    /// </summary>
    private UpdateResult Update(PhaseSession p)
    {
        // Fake score: score matching within (s, upper] on fresh, detached boundary samples.
        double fakeLoss = 0;
        var finite = true;
        for (var f = 0; f < _config.FakeUpdatesPerGeneratorUpdate; f++)
        {
            using var inner = torch.NewDisposeScope();
            var condition = DrawCondition();
            Tensor xs;
            using (torch.no_grad()) xs = Rollout(p.K, condition, withGradient: false).Xs;
            var t = p.Sampler.Sample(_config.BatchSize, _rng, _device);
            var loss = FakeLoss(p.Fake, xs, t, p.S, condition);
            p.FakeOpt.zero_grad();
            loss.backward();
            var value = loss.item<float>();
            if (float.IsFinite(value) && double.IsFinite(RunState.GradientNorm(p.Fake.parameters()))) p.FakeOpt.step();
            else finite = false;                                          // skipped: never step on NaN/Inf
            fakeLoss += value / _config.FakeUpdatesPerGeneratorUpdate;
        }

        // Generator: distribution matching at the boundary.
        var cond = DrawCondition();
        var (xsGen, x0Student, exit) = Rollout(p.K, cond, withGradient: true);
        var tg = p.Sampler.Sample(_config.BatchSize, _rng, _device);
        var (genLoss, scale) = GeneratorLoss(p.Fake, xsGen, x0Student, tg, p.S, cond);
        p.GenOpt.zero_grad();
        genLoss.backward();
        var genValue = genLoss.item<float>();
        var gradNorm = RunState.GradientNorm(p.Trainable);
        finite &= float.IsFinite(genValue) && double.IsFinite(gradNorm);
        if (finite)
        {
            if (_config.GradClip > 0) nn.utils.clip_grad_norm_(p.Trainable, _config.GradClip);
            p.GenOpt.step();
            p.Ema?.Update(p.Expert);
            if (_config.FakeStudentBlend > 0) Blend(p.Fake, p.Expert, _config.FakeStudentBlend);
        }
        return new UpdateResult(genValue, fakeLoss, gradNorm, scale, exit, tg, finite);
    }

    /// <summary>
    /// Benchmark hook: runs <paramref name="warmup"/> + <paramref name="repeats"/> generator updates
    /// (each with its fake updates) in every phase, in order, as training would, and returns the
    /// wall time of each timed update. <paramref name="afterUpdate"/> sees every update (e.g. to
    /// sample resident memory). Nothing is written to disk.
    /// </summary>
    public IReadOnlyList<double> TimeUpdates(int warmup, int repeats, Action<long>? afterUpdate = null)
    {
        var seconds = new List<double>();
        long done = 0;
        for (var k = _config.StartPhase; k <= _layout.Phases; k++)
        {
            using var session = new PhaseSession(this, k);
            for (var i = 0; i < warmup + repeats; i++)
            {
                var clock = Stopwatch.StartNew();
                using (torch.NewDisposeScope()) Update(session);
                Runtime.ReleaseFinalizableNativeObjects();   // as training does (part of the measured time)
                if (i >= warmup) seconds.Add(clock.Elapsed.TotalSeconds);
                afterUpdate?.Invoke(++done);
            }
            session.Finish();
        }
        return seconds;
    }

    private void TrainPhase(int k, int startIteration, string? checkpoint, LoopState state)
    {
        using var p = new PhaseSession(this, k);
        if (checkpoint is not null)
        {
            RunState.LoadModule(p.Fake, Path.Combine(checkpoint, "fake.safetensors"));
            RunState.LoadOptimizer(p.FakeOpt, Path.Combine(checkpoint, "fake_optimizer.bin"));
            RunState.LoadOptimizer(p.GenOpt, Path.Combine(checkpoint, "generator_optimizer.bin"));
            p.Ema?.Load(Path.Combine(checkpoint, "ema.safetensors"));
        }

        var iterations = _config.IterationsOf(k);
        var nonFiniteInARow = 0;

        void Save(int phase, int iteration, bool withPhaseState) => state.Store.Save(state.Done, dir =>
        {
            RunState.SaveModule(Student, Path.Combine(dir, "student.safetensors"));
            if (withPhaseState)
            {
                RunState.SaveModule(p.Fake, Path.Combine(dir, "fake.safetensors"));
                RunState.SaveOptimizer(p.FakeOpt, Path.Combine(dir, "fake_optimizer.bin"));
                RunState.SaveOptimizer(p.GenOpt, Path.Combine(dir, "generator_optimizer.bin"));
                p.Ema?.Save(Path.Combine(dir, "ema.safetensors"));
            }
            RunState.SaveRng(dir, _rng);
            RunState.WriteProgress(dir, new RunProgress(phase, iteration, state.Done, RunState.Hash(_config), state.Seconds, state.Skipped));
        });

        for (var it = startIteration + 1; it <= iterations; it++)
        {
            using var scope = torch.NewDisposeScope();
            var u = Update(p);
            if (u.Finite) nonFiniteInARow = 0;
            else
            {
                state.Skipped++;
                if (++nonFiniteInARow >= _config.MaxNonFiniteInARow)
                    throw new DivergenceException($"distillation diverged in phase {k} at iteration {it}: {nonFiniteInARow} updates in a row with non-finite losses or gradients were skipped; " +
                        (state.Store.List().Any() ? $"the last good checkpoint is kept in {state.Store.Root}" : "no checkpoint had been written yet") +
                        " (lower the learning rates and resume or restart)");
            }

            state.Done++;
            if (it % _config.LogEvery == 0 || it == iterations)
            {
                state.Log.Write(state.Done, [
                    ("phase", k), ("iteration", it), ("generator_loss", u.GeneratorLoss), ("fake_loss", u.FakeLoss),
                    ("grad_norm", u.GradNorm), ("dmd_scale", u.Scale), ("exit_step", u.Exit),
                    ("t_mean", u.T.mean().item<float>()), ("t_min", u.T.min().item<float>()), ("t_max", u.T.max().item<float>()),
                    ("skipped_updates", state.Skipped), ("seconds", state.Seconds),
                ]);
                state.Progress?.Invoke(new JobProgress(state.Done, state.Total, $"phase {k}/{_layout.Phases} fake {u.FakeLoss:F3}"));
            }
            Runtime.ReleaseFinalizableNativeObjects();
            var cancelled = state.Cancel.IsCancellationRequested;
            if (it < iterations && (cancelled || (_config.CheckpointEvery > 0 && state.Done % _config.CheckpointEvery == 0)))
            {
                state.Log.Flush();
                Save(k, it, withPhaseState: true);
            }
            if (cancelled && it < iterations) throw new OperationCanceledException($"interrupted in phase {k} at iteration {it}; checkpoint written to {state.Store.Root}");
        }

        p.Finish();
        state.Log.Flush();
        Save(k + 1, 0, withPhaseState: false);                              // exactly at the phase boundary
        AfterPhaseCheckpoint?.Invoke(k);
        state.Cancel.ThrowIfCancellationRequested();
    }

    /// <summary>Called right after the checkpoint at the end of phase k is written (fault-injection tests use it).</summary>
    public Action<int>? AfterPhaseCheckpoint { get; set; }

    /// <summary>
    /// Samples the phase's boundary x_s: experts 1…k−1 without gradient to the phase start, then
    /// SGTS inside the phase (exit step j drawn uniformly; steps before j without gradient; step j
    /// jumps straight to s) or, with full truncation, every step of the phase with gradient.
    /// Returns x_s, the exit step's x̂_0 and the exit step index.
    /// </summary>
    internal (Tensor Xs, Tensor X0, int Exit) Rollout(int k, Tensor? condition, bool withGradient)
    {
        var start = _layout.PhaseStart(k);
        var end = _layout.PhaseEnd(k);
        var s = _layout.BoundaryTime(k);
        var z = torch.randn([_config.BatchSize, .. _teacherCard.Network.SampleShape], generator: _rng).to(_device);
        using var grad = torch.set_grad_enabled(withGradient);
        if (_config.EffectiveTruncation == Truncation.Exit)
        {
            var exit = start + (int)(torch.randint(0, end - start, [1], generator: _rng).item<long>());
            var x = Student.Run(z, 0, exit, condition, _rng);
            var (xs, x0) = Student.Step(x, exit, s, condition, _rng);
            return (xs, x0, exit);
        }
        var current = Student.Run(z, 0, start, condition, _rng);
        Tensor x0Last = current;
        for (var i = start; i < end; i++)
            (current, x0Last) = Student.Step(current, i, _layout.Times[i + 1], condition, _rng);
        return (current, x0Last, end - 1);
    }

    /// <summary>The fake model's loss on detached boundary samples (Eq. 13, or the naive ablation).</summary>
    private Tensor FakeLoss(VelocityModel fake, Tensor xs, Tensor t, double s, Tensor? condition)
    {
        var eps = torch.randn(xs.shape, generator: _rng).to(_device);
        var tb = Broadcast(t, xs);
        var sb = torch.full_like(tb, s);
        var xt = SubintervalScoreMatching.ForwardKernel(_schedule, xs, eps, tb, sb);
        var prediction = fake.Forward(xt, t, condition);
        var perSample = _config.FakeObjective == FakeObjective.Subinterval
            ? SubintervalScoreMatching.StableLoss(_schedule, prediction, xs, eps, tb, sb, _config.FakeLossClamp)
            : SubintervalScoreMatching.NaiveLoss(_schedule, prediction, xs, eps, tb);
        return perSample.mean();
    }

    /// <summary>The generator's surrogate loss and the mean gradient scale (analytic weight or normaliser).</summary>
    private (Tensor Loss, double Scale) GeneratorLoss(VelocityModel fake, Tensor xs, Tensor x0Student, Tensor t, double s, Tensor? condition)
    {
        Tensor vTeacher, vFake, xt, tb, sb;
        using (torch.no_grad())
        {
            var eps = torch.randn(xs.shape, generator: _rng).to(_device);
            tb = Broadcast(t, xs);
            sb = torch.full_like(tb, s);
            xt = SubintervalScoreMatching.ForwardKernel(_schedule, xs.detach(), eps, tb, sb);
            vTeacher = _teacher.GuidedVelocity(xt, t, condition, _config.TeacherCfg);
            vFake = fake.Forward(xt, t, condition);
        }
        if (_config.DmdLoss == DmdLoss.Analytic)
        {
            var g = DistributionMatching.AnalyticGradient(_schedule, vTeacher, vFake, tb, sb);
            var w = DistributionMatching.AnalyticWeight(_schedule, tb, sb).mean().to(ScalarType.Float64).item<double>();
            return (DistributionMatching.SurrogateLoss(xs, g), w);
        }
        var x0Teacher = Parameterization.VelocityToX0(_schedule, xt, vTeacher, tb);
        var x0Fake = Parameterization.VelocityToX0(_schedule, xt, vFake, tb);
        var (gn, normalizer) = DistributionMatching.NormalizedGradient(x0Student.detach(), x0Teacher, x0Fake);
        return (DistributionMatching.SurrogateLoss(x0Student, gn), normalizer.mean().to(ScalarType.Float64).item<double>());
    }

    private Tensor? DrawCondition()
    {
        if (!_teacher.IsConditional) return null;
        if (_teacherCard.Task.Mixture is { } mixture)
            return torch.multinomial(mixture.WeightsTensor(), _config.BatchSize, replacement: true, generator: _rng).to(_device);
        if (ProceduralTasks.IsProcedural(_teacherCard.Task.Name))
            return ProceduralTasks.Resolve(_teacherCard.Task.Name).SamplePrompts(_config.BatchSize, _rng).to(_device);
        throw new InputException($"teacher task '{_teacherCard.Task.Name}' is conditional but has no condition source");
    }

    private void LoadEarlierExperts(string dir)
    {
        var (card, previous) = StudentDirectory.Load(dir, _device);
        using (previous)
        {
            if (card.Student is not { } spec || spec.Layout.Steps != _layout.Steps || !spec.Layout.Boundaries.SequenceEqual(_layout.Boundaries) || spec.Experts != _config.Experts)
                throw new InputException($"initFrom: {dir} has a different phase layout or expert kind");
            // Only the frozen experts come from the earlier student; expert StartPhase and later start
            // from the teacher as in a fresh run (so "train phase k for 4× as long" means exactly that).
            for (var k = 1; k < _config.StartPhase; k++) StudentGenerator.CopyWeights(previous.Expert(k), Student.Expert(k));
        }
    }

    private static Tensor Broadcast(Tensor t, Tensor like)
        => t.reshape([t.shape[0], .. Enumerable.Repeat(1L, (int)like.dim() - 1)]);

    private static void Blend(nn.Module fake, nn.Module student, double b)
    {
        using var _ = torch.no_grad();
        foreach (var (f, p) in fake.parameters().Zip(student.parameters())) f.mul_(1 - b).add_(p, alpha: b);
    }
}
