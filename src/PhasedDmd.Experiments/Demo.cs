using System.Diagnostics;
using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Plotting;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Experiments;

/// <summary>
/// <c>phased-dmd demo</c>: on the shipped teachers (or, with --from-scratch, freshly trained ones) it
/// runs the paper's Fig. 2 in 1D, the ring8 comparison with its ablations, distils glyphs and
/// motion-free with dmd, sgts and Phased DMD, evaluates them with the same prompts and seeds, runs the
/// Fig. 5 and App. E.2 studies, and writes <c>report.md</c> and <c>report.json</c>. Every
/// distillation is restartable: running the demo again into the same folder reuses finished
/// students (same config) and resumes interrupted ones.
/// </summary>
public static class Demo
{
    /// <summary>
    /// The DiT tasks the demo distils: glyphs (Table 2) and motion-free (Table 3), whose prompts leave the
    /// motion free, so a student that collapses loses it. (The <c>motion</c> task, whose prompts fix the
    /// direction, is measured by <c>compare</c> and in docs/results.md.)
    /// </summary>
    public static readonly string[] ImageTasks = ["glyphs", "motion-free"];

    public static DemoReport Run(DemoConfig config, string outDir, Action<DemoProgress>? progress = null, Action<string>? warn = null)
    {
        config.Validate();
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(outDir);
        Runtime.Configure(config.Seed, config.Threads, config.Device);
        using var demo = new Session(config, outDir, progress, warn);
        demo.Teachers();                               // 1. shipped, or trained here with the documented default configs
        demo.Toy1d();                                  // 2. Fig. 2 in 1D
        demo.Ring8();                                  // 3. every method and the ablations against the exact mixture
        demo.ImageMethods();                           // 4. glyphs and motion-free: teacher, dmd, sgts, phased, same prompts and seeds
        demo.Fig5();                                   // 5. the low-SNR expert frozen, the high-SNR expert k× longer
        if (config.ImageAblations) demo.Ablations();   // 6. App. E.2 and Table 6 at image scale
        return demo.Finish(clock.Elapsed.TotalSeconds);
    }

    /// <summary>The state the demo's steps share: the report being filled, the progress parts and one evaluator per image task.</summary>
    private sealed class Session(DemoConfig config, string outDir, Action<DemoProgress>? progress, Action<string>? warn) : IDisposable
    {
        private readonly DemoReport _report = new() { Config = config };
        private readonly int _parts = 5 + ImageTasks.Length + (config.ImageAblations ? 1 : 0);
        private int _part;
        /// <summary>One evaluator per task: the teacher's reference grid is sampled once, every student's grid once.</summary>
        private readonly Dictionary<string, ImageEvaluator> _evaluators = new();

        private Action<JobProgress> Part(string name)
        {
            var index = ++_part;
            progress?.Invoke(new DemoProgress(index, _parts, name, new JobProgress(0, 1, "")));
            return p => progress?.Invoke(new DemoProgress(index, _parts, name, p));
        }

        private void Save() => Json.WriteMetrics(Path.Combine(outDir, "report.json"), _report);

        public void Teachers()
        {
            var teachers = Part("teachers");
            foreach (var task in (string[])["ring8", .. ImageTasks])
            {
                var dir = config.FromScratch ? null : Assets.Teacher(task);
                if (dir is null && !config.FromScratch && task == "glyphs")
                {
                    // Training the glyphs teacher (19 min) takes longer than the whole demo: without the shipped one the image parts run on motion-free only.
                    _report.Skipped[task] = "no shipped glyphs teacher (assets/teachers/glyphs); --from-scratch trains one";
                    warn?.Invoke($"{task}: {_report.Skipped[task]}; the image-scale parts run on {ImageTasks[^1]} only");
                    continue;
                }
                if (dir is null)
                {
                    if (!config.FromScratch) warn?.Invoke($"no shipped {task} teacher found (assets/teachers/{task}); training one");
                    dir = Path.Combine(outDir, "teachers", task);
                    var seconds = TrainTeacher(TeacherConfig.ForTask(task) with { Seed = config.Seed, Threads = config.Threads, Device = config.Device }, dir,
                        p => teachers(p with { Status = $"{task} {p.Status}" }));
                    _report.TeacherTrainSeconds[task] = seconds;
                }
                _report.Teachers[task] = dir;
            }
        }

        public void Toy1d()
        {
            var toy = Part("toy1d (paper Fig. 2)");
            _report.Toy1d = Experiments.Toy1d.Run(new Toy1dConfig { Iterations = config.Toy1dIterations, Seed = config.Seed, Threads = config.Threads },
                                                  Path.Combine(outDir, "toy1d"), toy);
        }

        public void Ring8()
        {
            var ring = Part("ring8 methods and ablations");
            var ringSettings = new ComparisonSettings { Seeds = 1, IterationsPerPhase = config.RingIterationsPerPhase, EvalSamples = config.MixtureSamples,
                                                        Base = new DistillConfig { Threads = config.Threads, Device = config.Device } };
            var ringEntries = MethodComparison.StandardEntries(ringSettings).Where(e => e.Name != "phased+full-phase-backprop").ToList();
            ringEntries.Add(new("phased-K4", DistillationMethod.Phased.AtBudget(ringSettings.Base, 2 * config.RingIterationsPerPhase, ringSettings.Steps, 4)));
            _report.Ring8.AddRange(MethodComparison.Run(_report.Teachers["ring8"], ringSettings, Path.Combine(outDir, "ring8"), ringEntries, p => ring(p), warn));
        }

        public void ImageMethods()
        {
            var imageTasks = ImageTasks.Where(_report.Teachers.ContainsKey).ToList();
            _report.StudyTask = imageTasks.Contains(config.StudyTask) ? config.StudyTask : imageTasks[^1];
            foreach (var task in ImageTasks.Where(t => !_report.Teachers.ContainsKey(t))) progress?.Invoke(new DemoProgress(++_part, _parts, $"{task}: skipped", new JobProgress(1, 1, "")));
            foreach (var task in imageTasks)
            {
                var step = Part($"{task}: distil and evaluate");
                var encoder = EncoderTraining.Shipped(task);
                if (encoder is null && (TaskRegistry.TryFind(task) as IPromptGridTask)?.Encoder is not null) warn?.Invoke($"no shipped {task} encoder (assets/encoders/{task}); feature measures are skipped");
                var eval = _evaluators[task] = new ImageEvaluator(task, _report.Teachers[task], encoder, config, Path.Combine(outDir, task));
                _report.RealData[task] = eval.RealMeasures();
                var budget = 2 * config.ImageIterationsPerPhase;
                var baseConfig = ImageBase(_report.Teachers[task], config);
                var runs = new List<DemoRun>
                {
                    new("dmd", "dmd", DistillationMethod.Dmd.AtBudget(baseConfig, budget)),
                    new("sgts", "sgts", DistillationMethod.Sgts.AtBudget(baseConfig, budget, 4)),
                    new("phased", "phased", DistillationMethod.Phased.AtBudget(baseConfig, budget, 4, 2)),
                };
                _report.Methods[task] = [eval.Evaluate("teacher", "teacher", _report.Teachers[task], null, 0, "teacher"), .. DistilAndEvaluate(_report.Teachers[task], runs, eval, step, warn)];
                Save();
            }
        }

        /// <summary>The study task's 2-phase phased student (the one of <see cref="ImageMethods"/>) and its directory.</summary>
        private (DistillConfig Config, string Dir) StudyPhased()
            => (DistillationMethod.Phased.AtBudget(ImageBase(_report.Teachers[_report.StudyTask], config), 2 * config.ImageIterationsPerPhase, 4, 2),
                Path.GetFullPath(Path.Combine(outDir, _report.StudyTask, "students", "phased")));

        public void Fig5()
        {
            var study = _report.StudyTask;
            var n5 = config.ImageIterationsPerPhase;
            var (phased, phasedDir) = StudyPhased();
            var fig5 = Part($"{study}: Fig. 5 (high-SNR expert {config.Fig5Multiplier}× longer)");
            var longer = new DemoRun($"phased, high-SNR expert {config.Fig5Multiplier}×", $"phased-expert2-{config.Fig5Multiplier}x",
                phased with { PhaseIterations = [n5, config.Fig5Multiplier * n5], InitFrom = phasedDir, StartPhase = 2 });
            _report.Fig5.Add(_report.Methods[study].Single(e => e.Name == "phased") with { Name = "phased, high-SNR expert 1×" });
            _report.Fig5.AddRange(DistilAndEvaluate(_report.Teachers[study], [longer], _evaluators[study], fig5, warn));
            foreach (var (k, v) in _evaluators[study].LayoutAgreement(phasedDir, _report.Fig5[1].ModelDir)) _report.Fig5Layout[k] = v;
            Save();
        }

        public void Ablations()
        {
            var study = _report.StudyTask;
            var (phased, phasedDir) = StudyPhased();
            var abl = Part($"{study}: ablations (disjoint, naive, 4 phases)");
            _report.Ablations.Add(_report.Methods[study].Single(e => e.Name == "phased") with { Name = "phased (nested, subinterval, K=2)" });
            var runs = new List<DemoRun>
            {
                // Phase 1's interval (t_b1, 1] is the same for nested and disjoint, so the disjoint run reuses phase 1.
                new("phased + disjoint intervals", "phased-disjoint", phased with { Interval = IntervalKind.Disjoint, InitFrom = phasedDir, StartPhase = 2 }),
                new("phased + naive fake objective", "phased-naive", phased with { FakeObjective = Objectives.Naive.Name }),
                new("phased, 4 phases (K=4)", "phased-K4", DistillationMethod.Phased.AtBudget(phased, 2 * config.ImageIterationsPerPhase, phases: 4)),
            };
            _report.Ablations.AddRange(DistilAndEvaluate(_report.Teachers[study], runs, _evaluators[study], abl, warn));
        }

        /// <summary>The claims checked on the numbers, then report.json and report.md.</summary>
        public DemoReport Finish(double seconds)
        {
            Part("report");
            _report.Claims = DemoReportWriter.Claims(_report);
            _report.Seconds = seconds;
            Save();
            AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), DemoReportWriter.Markdown(_report));
            return _report;
        }

        public void Dispose()
        {
            foreach (var e in _evaluators.Values) e.Dispose();
        }
    }

    /// <summary>One distillation of a table: its row name, its folder (under &lt;task&gt;/students) and config.</summary>
    private sealed record DemoRun(string Name, string DirName, DistillConfig Config)
    {
        /// <summary>Generator updates of this run (phases from StartPhase on).</summary>
        public long Trained => Config.TrainedUpdates(Config.Validate());
        /// <summary>Generator updates behind the student, counting the phases it took over frozen.</summary>
        public int Total => Enumerable.Range(1, Config.Phases).Sum(Config.IterationsOf);
    }

    /// <summary>Distils each run (restartable, see <see cref="MethodComparison.Distil"/>) with one progress bar over all of them, then evaluates it.</summary>
    private static List<DemoEntry> DistilAndEvaluate(string teacherDir, IReadOnlyList<DemoRun> runs, ImageEvaluator eval, Action<JobProgress> progress, Action<string>? warn)
    {
        var total = runs.Sum(r => r.Trained);
        long before = 0;
        var entries = new List<DemoEntry>();
        foreach (var run in runs)
        {
            var offset = before;
            var dir = Path.Combine(eval.OutDir, "students", run.DirName);
            var seconds = MethodComparison.Distil(teacherDir, run.Config, dir, warn, p => progress(new JobProgress(offset + p.Done, total, $"{run.DirName} {p.Status}")));
            entries.Add(eval.Evaluate(run.Name, run.Config.Method, dir, seconds, run.Total, run.DirName));
            before += run.Trained;
        }
        return entries;
    }

    /// <summary>The teacher's defaults without the validation monitor (the demo measures every student when it is done, and times the methods).</summary>
    private static DistillConfig ImageBase(string teacherDir, DemoConfig config)
        => DistillConfig.ForTeacher(ModelDirectory.ReadCard(teacherDir)) with { Seed = config.Seed, Threads = config.Threads, Device = config.Device, ValidateEvery = 0 };

    /// <summary>Trains a teacher beside its final place and moves it in only when complete; returns the wall time.</summary>
    private static double TrainTeacher(TeacherConfig config, string dir, Action<JobProgress> progress)
    {
        if (RunDirectory.SameConfig(dir, config) && RunDirectory.Finished(dir, config) is { } finished) return finished.WallSeconds;
        var incoming = dir + ".incoming";
        if (Directory.Exists(incoming)) Directory.Delete(incoming, recursive: true);
        TeacherTrainer.Train(config, incoming, new RunOptions(Observers: [new ProgressObserver(progress)]));
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.Move(incoming, dir);
        return RunDirectory.Finished(dir, config)!.WallSeconds;
    }

    /// <summary>
    /// Samples a model on the task's evaluation prompts × seeds (the same noises for every model),
    /// measures it (task measures, encoder measures, Fréchet distance to the teacher's samples) and
    /// writes its sample grid (and, for video, an animated preview).
    /// </summary>
    private sealed class ImageEvaluator : IDisposable
    {
        private readonly DemoConfig _config;
        private readonly PromptGridEvaluation _evaluation;
        private readonly string _teacherDir;
        private Tensor? _teacherFeatures;
        /// <summary>Each evaluated model's grid (row-major seeds × prompts), kept for the Fig. 5 comparison.</summary>
        private readonly Dictionary<string, float[]> _pixels = new();

        /// <summary>Where the sample grids (and the students, under students/) of this task go.</summary>
        public string OutDir { get; }

        public ImageEvaluator(string task, string teacherDir, string? encoderDir, DemoConfig config, string outDir)
        {
            _config = config;
            OutDir = outDir;
            _teacherDir = Path.GetFullPath(teacherDir);
            var definition = TaskRegistry.Find<IPromptGridTask>(task, "prompt-grid evaluation");
            _evaluation = new PromptGridEvaluation(definition, definition.EvaluationPrompts(config.PromptLimit), config.SeedsFor(task), encoderDir);
        }

        /// <summary>The task's measures on real samples laid out as the grid (the data's own level, the real-data row of Table 3).</summary>
        public Dictionary<string, double> RealMeasures() => PromptGridEvaluation.Flatten(_evaluation.MeasureRealData(_config.Seed + 20_000));

        private IReadOnlyList<string> Prompts => _evaluation.Prompts;

        /// <summary>The encoder's embeddings of the teacher's grid (the reference of the Fréchet distance to the teacher), sampled once.</summary>
        private Tensor TeacherFeatures(FeatureEncoder encoder)
        {
            if (_teacherFeatures is not null) return _teacherFeatures;
            using var noGrad = torch.no_grad();
            var teacher = _pixels.TryGetValue(_teacherDir, out var cached)
                ? torch.tensor(cached, [Prompts.Count * _evaluation.Seeds, .. ModelDirectory.ReadCard(_teacherDir).Network.SampleShape])
                : Grid(_teacherDir);
            using (teacher) _teacherFeatures = encoder.forward(teacher).DetachFromDisposeScope();
            return _teacherFeatures;
        }

        private Tensor Grid(string modelDir)
        {
            using var model = LoadedModel.Load(modelDir, Runtime.ResolveDevice(_config.Device));
            return _evaluation.Sample(model, new SampleOptions(Seed: _config.Seed + 20_000, Device: _config.Device));
        }

        public DemoEntry Evaluate(string name, string method, string modelDir, double? seconds, int updates, string imageName)
        {
            using var scope = torch.NewDisposeScope();
            var grid = Grid(modelDir);
            var full = Path.GetFullPath(modelDir);
            _pixels[full] = grid.data<float>().ToArray();
            var metrics = PromptGridEvaluation.Flatten(_evaluation.Measure(grid, _config.Seed));
            if (_evaluation.Encoder is { } encoder)
            {
                using var noGrad = torch.no_grad();
                metrics["features.frechet_to_teacher"] = full == _teacherDir ? 0 : DiversityMetrics.FrechetDistance(encoder.forward(grid), TeacherFeatures(encoder));
            }
            SaveImages(grid, imageName);
            return new DemoEntry(name, method, modelDir, seconds, updates, metrics);
        }

        /// <summary>The first (up to) 6 prompts × 4 seeds as a Fig. 3 grid; videos also as an animated PNG.</summary>
        private void SaveImages(Tensor grid, string name)
        {
            var dir = OutDir;
            Directory.CreateDirectory(dir);
            using var scope = torch.NewDisposeScope();
            int columns = Math.Min(6, Prompts.Count), rows = Math.Min(4, _evaluation.Seeds);
            var index = torch.tensor(Enumerable.Range(0, rows).SelectMany(s => Enumerable.Range(0, columns).Select(p => (long)(s * Prompts.Count + p))).ToArray());
            var subset = grid.index_select(0, index);
            var titles = Prompts.Take(columns).ToList();
            ImageGrid.SaveWithAnimation(Path.Combine(dir, name + ".png"), subset, rows, columns, titles, stripZoom: 3, frameZoom: 4);
        }

        /// <summary>Fig. 5: two evaluated students (same noises) compared sample by sample: glyph layout or motion start and direction.</summary>
        public Dictionary<string, double> LayoutAgreement(string dirA, string dirB)
        {
            float[] a = _pixels[Path.GetFullPath(dirA)], b = _pixels[Path.GetFullPath(dirB)];
            var (same, shift) = _evaluation.Task.LayoutAgreement(a, b);
            return new() { ["same_layout_fraction"] = same, ["mean_centre_shift_pixels"] = shift };
        }

        public void Dispose()
        {
            _evaluation.Dispose();
            _teacherFeatures?.Dispose();
        }
    }
}
