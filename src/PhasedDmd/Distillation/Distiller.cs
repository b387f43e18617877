using PhasedDmd.Diffusion;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// Distils a frozen <see cref="Distillation.Teacher"/> into a K-expert, N-step student (method.md §2–§4).
/// Phases run in order. In phase k the experts of earlier phases are frozen, a fresh
/// <see cref="FakeScore"/> is copied from the teacher, and each generator update is preceded by
/// <see cref="DistillConfig.FakeUpdatesPerGeneratorUpdate"/> fake-score updates on fresh boundary samples
/// (see <see cref="PhaseState"/>, <see cref="Rollout"/>, <see cref="PhaseLosses"/>).
/// </summary>
public sealed class Distiller
{
    private readonly DistillConfig _config;
    private readonly PhaseLayout _layout;
    private readonly Device _device;
    private readonly IGradientSync _sync;
    private readonly Generator _rng;
    private readonly IConditionSource? _conditions;
    private readonly int _batch;
    private readonly Rollout _rollout;
    private readonly IFakeScoreObjective _fakeObjective;
    private readonly IGeneratorObjective _generatorObjective;

    public Teacher Teacher { get; }
    public StudentGenerator Student { get; }

    /// <param name="sync">The data-parallel group (default: one process). Each rank draws its share of the batch from its own random stream.</param>
    public Distiller(DistillConfig config, ModelCard teacherCard, VelocityModel teacher, IGradientSync? sync = null)
    {
        _config = config;
        _layout = config.Validate();
        ModelSpec.KindOf(teacherCard.Network);   // a network of the user's own must be registered, or the student's card could not be saved at the end
        _sync = sync ?? SingleProcess.Instance;
        if (config.BatchSize % _sync.WorldSize != 0)
            throw new InputException($"batchSize: the batch of {config.BatchSize} does not split evenly over {_sync.WorldSize} processes");
        _batch = config.BatchSize / _sync.WorldSize;
        _device = Runtime.Configure(config.Seed, config.Threads, config.Device);
        _rng = Runtime.RankGenerator(config.Seed, _sync.Rank);
        Teacher = new Teacher(teacherCard, teacher, config.TeacherCfg, _device, config.Precision.DType());
        _conditions = IConditionSource.For(teacherCard, teacher.IsConditional);
        if (Teacher.Network.ComputeType != ScalarType.Float32) TryPrecision();

        // The student's initial weights (LoRA adapters) must be the same on every rank: drawn from the seed's stream.
        var init = _sync.Rank == 0 ? _rng : Runtime.NewGenerator(config.Seed);
        var spec = new StudentSpec(_layout, config.Experts, config.LoraRank, config.LoraAlpha, config.Solver, config.Method, config.LoraTargets);
        Student = StudentGenerator.FromTeacher(teacher, spec, Teacher.Schedule, init);
        if (!ReferenceEquals(init, _rng)) init.Dispose();
        if (config.Experts == ExpertKind.Lora) Runtime.ReturnFreedMemory();   // the experts' loaded bases, now the teacher's
        if (config.InitFrom is not null) LoadEarlierExperts(config.InitFrom);
        foreach (var p in Student.parameters()) p.requires_grad_(false);
        _rollout = new Rollout(Student, config.EffectiveTruncation);
        _fakeObjective = Objectives.FakeScore(config.FakeObjective);
        _generatorObjective = Objectives.Generator(config.DmdLoss);
    }

    /// <summary>
    /// Runs every phase from StartPhase on (or, resuming, from the newest intact checkpoint in
    /// <paramref name="outDir"/>) and writes the student's model directory. Checkpoints are written
    /// every CheckpointEvery updates, at every phase boundary, and when the run is cancelled.
    /// </summary>
    public ModelCard Run(string outDir, RunOptions? options = null)
    {
        options ??= new RunOptions();
        using var run = RunDirectory.Open(outDir, _config, options.Resume, _sync.Rank == 0, _config.StartPhase, options.Warn, _sync.WorldSize);
        List<ITrainingObserver> observers = [.. options.AllObservers];
        if (run.Log is not null) observers.Insert(0, run.Log);
        if (run.ResumedFrom is { } checkpoint)
        {
            StudentParts().LoadFrom(checkpoint);
            foreach (var p in Student.parameters()) p.requires_grad_(false);
        }
        long done = run.Start.Done, skipped = run.Start.SkippedUpdates, total = _config.TrainedUpdates(_layout);
        _sync.RequireIdentical(Teacher.Network.parameters().ToList(), "the teacher");   // e.g. another file on one node
        _sync.RequireIdentical(Student.parameters().ToList(), "the student");
        if (_config.ValidateEvery > 0 && run.IsWriter)
            foreach (var o in observers) o.Working(done, total, run.ResumedFrom is null ? $"validation set: the teacher samples {_config.ValidationSamples}" : "validation set");
        using var monitor = ValidationMonitor.Open(outDir, run.IsWriter, Teacher, Student, _conditions, _config, _layout, _device, run.ResumedFrom is not null);
        if (monitor is not null && run.ResumedFrom is null)
            run.Log!.Write(done, [("phase", run.Start.Phase), ("iteration", 0), .. monitor.Validate(null, run.Start.Phase, 0, done)]);

        using var fakes = new FakeScores(Teacher, _config, _device);
        for (var k = run.Start.Phase; k <= _layout.Phases; k++)
        {
            if (k > run.Start.Phase) Runtime.ReturnFreedMemory();   // the last phase's optimizer, EMA and gradients
            using var phase = new PhaseState(k, Student, _config, _layout, fakes.For(k));
            var first = 1;
            if (k == run.Start.Phase && run.Start.Iteration > 0)
            {
                phase.Checkpoint().LoadFrom(run.ResumedFrom!);
                first = run.Start.Iteration + 1;
            }
            foreach (var o in observers) o.PhaseStarted(k, first);
            var iterations = _config.IterationsOf(k);
            var nonFiniteInARow = 0;
            new TrainingLoop(it =>
                {
                    var u = Update(phase);
                    nonFiniteInARow = u.Finite ? 0 : nonFiniteInARow + 1;
                    if (!u.Finite) skipped++;
                    if (nonFiniteInARow >= _config.MaxNonFiniteInARow) throw Diverged(run, k, it, nonFiniteInARow);
                    done++;
                    var validate = monitor is not null && (it % _config.ValidateEvery == 0 || it == iterations);
                    var logged = it % _config.LogEvery == 0 || it == iterations || validate ? u.Scalars(k, it, skipped, run.Seconds) : null;
                    if (validate) logged = [.. logged!, .. monitor!.Validate(phase, k, it, done, KeepBestIn(k))];
                    return new UpdateReport(done, total, k, it, logged is null ? "" : $"phase {k}/{_layout.Phases} fake {u.FakeLoss:F3}", logged);
                },
                CompareChecksums: () =>
                {
                    _sync.RequireIdentical(phase.Trainable, $"phase {k}'s expert");
                    _sync.RequireIdentical(phase.Fake.Parameters, $"phase {k}'s fake score");
                },
                Checkpoint: it => Checkpoint(run, observers, k, it, done, skipped, StudentParts().With(phase.Checkpoint())),
                Interrupted: it => $"interrupted in phase {k} at iteration {it}; checkpoint written to {run.Checkpoints.Root}",
                observers, _sync, options.Cancel, _config.CheckpointEvery).Run(first, iterations);
            phase.Finish();
            Checkpoint(run, observers, k, iterations, done, skipped, StudentParts(), phaseEnd: true);
            if (_sync.AnyTrue(options.Cancel.IsCancellationRequested))
                throw new OperationCanceledException($"interrupted at the end of phase {k}; checkpoint written to {run.Checkpoints.Root}");
        }
        fakes.Dispose();

        var card = StudentCard();
        _sync.RequireIdentical(Student.parameters().ToList(), "the student");   // what rank 0 saves is every rank's model
        if (run.IsWriter) StudentDirectory.Save(outDir, card, Student);
        ValidationSeconds = monitor?.Seconds ?? 0;
        run.Finish(done, torch.get_num_threads());
        if (run.IsWriter) Plotting.RunCurves.SaveFor(outDir);
        return card;
    }

    /// <summary>Seconds the last <see cref="Run"/> spent validating in this process (its reference samples included).</summary>
    public double ValidationSeconds { get; private set; }

    /// <summary>Where a validation in phase k keeps a better student: only with KeepBest, only in the last phase.</summary>
    private Action<string>? KeepBestIn(int k)
        => _config.KeepBest && k == _layout.Phases ? dir => StudentDirectory.Save(dir, StudentCard(), Student) : null;

    public ModelCard StudentCard() => new()
    {
        Role = "student",
        Schedule = Teacher.Schedule.Name,
        Task = Teacher.Card.Task,
        Network = Teacher.Card.Network,
        Student = Student.Spec,
        Sampling = new SamplingDefaults(_layout.Steps, "euler", 1.0, _layout.Shift),
    };

    /// <summary>What one generator update measured; Finite is false when it was skipped.</summary>
    /// <summary>One update's outcome. Its values stay on the device; they are read on the host only when the update is logged.</summary>
    private readonly record struct UpdateResult(Tensor GeneratorLoss, IReadOnlyList<Tensor> FakeLosses, Tensor GradNorm, Tensor Scale, int Exit, Tensor T, bool Finite)
    {
        /// <summary>The mean of the fake score's losses over the update's fake updates.</summary>
        public double FakeLoss
        {
            get
            {
                double mean = 0;
                foreach (var l in FakeLosses) mean += l.item<float>() / FakeLosses.Count;
                return mean;
            }
        }

        public IReadOnlyList<(string, double)> Scalars(int phase, int iteration, long skipped, double seconds) =>
        [
            ("phase", phase), ("iteration", iteration), ("generator_loss", GeneratorLoss.item<float>()), ("fake_loss", FakeLoss),
            ("grad_norm", GradNorm.to(ScalarType.Float64).item<double>()), ("dmd_scale", Scale.to(ScalarType.Float64).item<double>()), ("exit_step", Exit),
            ("t_mean", T.mean().item<float>()), ("t_min", T.min().item<float>()), ("t_max", T.max().item<float>()),
            ("skipped_updates", skipped), ("seconds", seconds),
        ];
    }

    /// <summary>
    /// One generator update of phase p, preceded by its fake-score updates. Gradients are averaged
    /// over the data-parallel group before each step, and no step is taken on a non-finite loss or
    /// gradient (decided the same way on every rank). Tensors it returns belong to the caller's dispose scope.
    /// With <see cref="DistillConfig.MicroBatch"/> each batch runs in micro-batches whose gradients add up to the
    /// batch's (each loss weighted by its share): the same draws (conditions, noises, exit step, times), the
    /// same update, a fraction of the activations.
    /// </summary>
    private UpdateResult Update(PhaseState p)
    {
        var schedule = Teacher.Schedule;
        var chunks = MicroBatches();
        var fakeLosses = new List<Tensor>();
        var finite = true;
        for (var f = 0; f < _config.FakeUpdatesPerGeneratorUpdate; f++)
        {
            using var inner = torch.NewDisposeScope();
            var condition = DrawCondition();
            var noise = DrawNoise();
            var exit = _rollout.DrawExit(p.K, _rng);
            Tensor xs;
            using (torch.no_grad())
                xs = chunks.Count == 1 ? _rollout.ToBoundary(p.K, noise, condition, withGradient: false, _rng, exit).Xs
                                       : torch.cat(chunks.Select(c => _rollout.ToBoundary(p.K, noise[c.Rows], condition?[c.Rows], withGradient: false, _rng, exit).Xs).ToArray());
            var t = p.Times.Sample(_batch, _rng, _device);
            var eps = Noise.Gaussian(xs.shape, _rng, xs.device);
            var (value, _, ok) = Backward(p.Fake.Optimizer, p.Fake.Masters, chunks, c =>
                PhaseLosses.FakeScore(schedule, p.Fake, xs[c.Rows], t[c.Rows], p.Boundary, condition?[c.Rows], _fakeObjective, _config.FakeLossClamp, eps[c.Rows]));
            if (ok)
            {
                p.Fake.Optimizer.step();
                p.Fake.Masters.MastersToModel();
            }
            else finite = false;
            fakeLosses.Add(value.MoveToOuterDisposeScope());
        }

        var cond = DrawCondition();
        var start = DrawNoise();
        var exitStep = _rollout.DrawExit(p.K, _rng);
        Tensor? tg = null, epsGen = null, scale = null;
        var lastExit = 0;
        var (genValue, gradNorm, genOk) = Backward(p.GeneratorOptimizer, p.Masters, chunks, c =>
        {
            var (xsGen, x0Student, exit) = _rollout.ToBoundary(p.K, start[c.Rows], cond?[c.Rows], withGradient: true, _rng, exitStep);
            lastExit = exit;
            if (tg is null)
            {
                // Drawn after the first rollout, where a single pass draws them (a renoising rollout draws in between).
                tg = p.Times.Sample(_batch, _rng, _device).MoveToOuterDisposeScope();
                using (torch.no_grad()) epsGen = Noise.Gaussian(start.shape, _rng, start.device).MoveToOuterDisposeScope();
            }
            var (loss, chunkScale) = PhaseLosses.Generator(schedule, Teacher, p.Fake, xsGen, x0Student, tg[c.Rows], p.Boundary, cond?[c.Rows], _generatorObjective, epsGen![c.Rows]);
            var weighted = c.Share == 1 ? chunkScale : chunkScale * c.Share;
            scale = scale is null ? weighted.MoveToOuterDisposeScope() : (scale + weighted).MoveToOuterDisposeScope();
            return loss;
        });
        finite &= genOk;
        if (finite)
        {
            if (_config.GradClip > 0) nn.utils.clip_grad_norm_(p.Masters.Optimized, _config.GradClip);
            p.GeneratorOptimizer.step();
            p.Masters.MastersToModel();
            p.Ema?.Update(p.Expert);
            if (_config.FakeStudentBlend > 0) p.Fake.BlendTowards(p.Expert, _config.FakeStudentBlend);
        }
        return new UpdateResult(genValue, fakeLosses, gradNorm, scale!, lastExit, tg!, finite);
    }

    /// <summary>Rows [Start, Stop) of the batch, and their share of it.</summary>
    private readonly record struct MicroBatch(long Start, long Stop, double Share)
    {
        public TensorIndex Rows => TensorIndex.Slice(Start, Stop);
    }

    /// <summary>The micro-batches of this process's batch (one, the whole batch with share 1, without <see cref="DistillConfig.MicroBatch"/>).</summary>
    private List<MicroBatch> MicroBatches()
    {
        var size = _config.MicroBatch is > 0 and var m && m < _batch ? m : _batch;
        return [.. Enumerable.Range(0, (_batch + size - 1) / size).Select(i =>
        {
            long start = i * size, stop = Math.Min(_batch, (i + 1) * size);
            return new MicroBatch(start, stop, size == _batch ? 1 : (double)(stop - start) / _batch);
        })];
    }

    /// <summary>
    /// Backpropagates the loss of every micro-batch (each weighted by its share, so the gradients add up to the batch's) and
    /// averages the gradients over ranks; Finite says whether every rank may step. Its one host read is that finiteness (the
    /// loss and the gradient norm stay on the device until an update is logged). The gradients end in the masters' (float32), which the
    /// optimizer steps.
    /// </summary>
    private (Tensor Value, Tensor GradNorm, bool Finite) Backward(TorchSharp.Modules.OptimizerHelper optimizer, MasterWeights masters,
                                                                   List<MicroBatch> chunks, Func<MicroBatch, Tensor> loss)
    {
        optimizer.zero_grad();
        masters.ZeroModelGradients();
        Tensor? value = null;
        foreach (var chunk in chunks)
        {
            using var scope = torch.NewDisposeScope();   // a micro-batch's activations go before the next one's are made
            var l = chunk.Share == 1 ? loss(chunk) : loss(chunk) * chunk.Share;
            Models.OneDnn.Backward(l);
            var detached = l.detach();
            value = value is null ? detached.MoveToOuterDisposeScope() : (value + detached).MoveToOuterDisposeScope();
        }
        _sync.AverageGradients(masters.Model);
        masters.GradientsToMasters();
        var norm = RunState.GradientNorm(masters.Optimized);
        return (value!, norm, _sync.AllFinite((value!.isfinite() & norm.isfinite()).item<bool>()));
    }

    private Tensor DrawNoise() => Noise.Gaussian([_batch, .. Teacher.SampleShape], _rng, _device);

    private Tensor? DrawCondition() => _conditions?.Sample(_batch, _rng).to(_device);

    /// <summary>The run's share of every checkpoint: the student (LoRA experts: only their adapters, the base being the teacher's) and the random stream.</summary>
    private CheckpointParts StudentParts()
        => (Student.AdapterParameters() is { } adapters ? new CheckpointParts().Tensors("student", adapters) : new CheckpointParts().Module("student", Student))
            .Rng("rng", _rng, _sync);

    /// <summary>A checkpoint after update <paramref name="iteration"/> of phase k; at the phase's end it records the start of phase k + 1.</summary>
    private static void Checkpoint(RunDirectory run, List<ITrainingObserver> observers, int k, int iteration, long done, long skipped,
                                   CheckpointParts parts, bool phaseEnd = false)
    {
        run.Checkpoint(phaseEnd ? k + 1 : k, phaseEnd ? 0 : iteration, done, skipped, parts);
        foreach (var o in observers) o.CheckpointWritten(k, iteration, phaseEnd);
    }

    private static DivergenceException Diverged(RunDirectory run, int k, int it, int inARow)
        => new($"distillation diverged in phase {k} at iteration {it}: {inARow} updates in a row with non-finite losses or gradients were skipped; " +
               (run.Checkpoints.List().Any() ? $"the last good checkpoint is kept in {run.Checkpoints.Root}" : "no checkpoint had been written yet") +
               " (lower the learning rates and resume or restart)");

    /// <summary>
    /// One guided pass of the teacher on two samples in the run's precision, so that a network that cannot run in it (a script
    /// computing part of its input in float32) is refused before the run directory is written.
    /// </summary>
    private void TryPrecision()
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        using var rng = Runtime.NewGenerator(0);
        Teacher.Predict(torch.zeros([2, .. Teacher.SampleShape], device: _device), torch.full(2, 0.5, device: _device), _conditions?.Sample(2, rng).to(_device));
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
}
