using System.Diagnostics;
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

    /// <summary>Runs every phase from StartPhase on and writes the student's model directory.</summary>
    public ModelCard Run(string outDir, Action<JobProgress>? progress = null)
    {
        Directory.CreateDirectory(outDir);
        Json.Write(Path.Combine(outDir, ModelDirectory.RunConfigFile), _config);
        using var log = new TrainingLog(outDir);
        var total = Enumerable.Range(_config.StartPhase, _layout.Phases - _config.StartPhase + 1).Sum(_config.IterationsOf);
        long done = 0;
        var clock = Stopwatch.StartNew();
        for (var k = _config.StartPhase; k <= _layout.Phases; k++)
            done = TrainPhase(k, log, done, total, clock, progress);
        log.Flush();
        var card = StudentCard();
        StudentDirectory.Save(outDir, card, Student);
        Json.Write(Path.Combine(outDir, "resources.json"), new RunResources(
            clock.Elapsed.TotalSeconds, done, clock.Elapsed.TotalSeconds / Math.Max(1, done),
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

    private long TrainPhase(int k, TrainingLog log, long done, long total, Stopwatch clock, Action<JobProgress>? progress)
    {
        var expert = Student.Expert(k);
        var trainable = Student.TrainableParameters(k).ToList();
        foreach (var p in trainable) p.requires_grad_(true);
        using var fake = _teacher.Spec.Build();
        fake.to(_device).train();
        StudentGenerator.CopyWeights(_teacher, fake);                      // re-initialised from the teacher every phase
        using var fakeOpt = optim.AdamW(fake.parameters(), _config.FakeLearningRate, _config.Beta1, _config.Beta2, weight_decay: _config.WeightDecay);
        using var genOpt = optim.AdamW(trainable, _config.GeneratorLearningRate, _config.Beta1, _config.Beta2, weight_decay: _config.WeightDecay);
        using var ema = _config.GeneratorEma > 0 ? new Ema(expert, _config.GeneratorEma) : null;

        var s = _layout.BoundaryTime(k);
        var upper = _config.Interval == IntervalKind.Nested ? 1.0 : _layout.StartTime(k);
        var sampler = new TimestepSampler(s, upper, _layout.Shift, _config.TimeMargin);
        var iterations = _config.IterationsOf(k);

        for (var it = 1; it <= iterations; it++)
        {
            using var scope = torch.NewDisposeScope();
            // Fake score: score matching within (s, upper] on fresh, detached boundary samples.
            double fakeLoss = 0;
            for (var f = 0; f < _config.FakeUpdatesPerGeneratorUpdate; f++)
            {
                using var inner = torch.NewDisposeScope();
                var condition = DrawCondition();
                Tensor xs;
                using (torch.no_grad()) xs = Rollout(k, condition, withGradient: false).Xs;
                var t = sampler.Sample(_config.BatchSize, _rng, _device);
                var loss = FakeLoss(fake, xs, t, s, condition);
                fakeOpt.zero_grad();
                loss.backward();
                fakeOpt.step();
                fakeLoss += loss.item<float>() / _config.FakeUpdatesPerGeneratorUpdate;
            }

            // Generator: distribution matching at the boundary.
            var cond = DrawCondition();
            var (xsGen, x0Student, exit) = Rollout(k, cond, withGradient: true);
            var tg = sampler.Sample(_config.BatchSize, _rng, _device);
            var (genLoss, scale) = GeneratorLoss(fake, xsGen, x0Student, tg, s, cond);
            genOpt.zero_grad();
            genLoss.backward();
            var clippedNorm = _config.GradClip > 0 ? nn.utils.clip_grad_norm_(trainable, _config.GradClip) : double.NaN;
            genOpt.step();
            ema?.Update(expert);
            if (_config.FakeStudentBlend > 0) Blend(fake, expert, _config.FakeStudentBlend);

            var step = done + it;
            if (it % _config.LogEvery == 0 || it == iterations)
            {
                var g = genLoss.item<float>();
                if (!float.IsFinite(g) || !double.IsFinite(fakeLoss))
                    throw new InvalidOperationException($"distillation diverged in phase {k} at iteration {it} (generator loss {g}, fake loss {fakeLoss}); lower the learning rates");
                log.Write(step, [
                    ("phase", k), ("iteration", it), ("generator_loss", g), ("fake_loss", fakeLoss),
                    ("grad_norm", double.IsNaN(clippedNorm) ? GradNorm(trainable) : clippedNorm), ("dmd_scale", scale), ("exit_step", exit),
                    ("t_mean", tg.mean().item<float>()), ("t_min", tg.min().item<float>()), ("t_max", tg.max().item<float>()),
                    ("seconds", clock.Elapsed.TotalSeconds),
                ]);
                progress?.Invoke(new JobProgress(step, total, $"phase {k}/{_layout.Phases} fake {fakeLoss:F3}"));
            }
            if (it % 200 == 0) GC.Collect();
        }

        ema?.CopyTo(expert);   // the EMA expert is the one kept and frozen
        foreach (var p in trainable) p.requires_grad_(false);
        return done + iterations;
    }

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
        throw new InputException($"teacher task '{_teacherCard.Task.Name}' is conditional but has no condition source");
    }

    private void LoadEarlierExperts(string dir)
    {
        var (card, previous) = StudentDirectory.Load(dir, _device);
        using (previous)
        {
            if (card.Student is not { } spec || spec.Layout.Steps != _layout.Steps || !spec.Layout.Boundaries.SequenceEqual(_layout.Boundaries) || spec.Experts != _config.Experts)
                throw new InputException($"initFrom: {dir} has a different phase layout or expert kind");
            for (var k = 1; k <= _layout.Phases; k++) StudentGenerator.CopyWeights(previous.Expert(k), Student.Expert(k));
        }
    }

    private static Tensor Broadcast(Tensor t, Tensor like)
        => t.reshape([t.shape[0], .. Enumerable.Repeat(1L, (int)like.dim() - 1)]);

    private static double GradNorm(IEnumerable<Parameter> parameters)
    {
        double sum = 0;
        foreach (var p in parameters)
            if (p.grad is { } g) sum += g.square().sum().item<float>();
        return Math.Sqrt(sum);
    }

    private static void Blend(nn.Module fake, nn.Module student, double b)
    {
        using var _ = torch.no_grad();
        foreach (var (f, p) in fake.parameters().Zip(student.parameters())) f.mul_(1 - b).add_(p, alpha: b);
    }
}
