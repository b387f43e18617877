using System.Diagnostics;
using System.Text.Json.Nodes;
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
/// Settings of <c>phased-dmd demo</c>: how long each part trains and how many samples it is judged
/// on. <see cref="Default"/> fits about 15 minutes on 2 CPU cores, <see cref="QuickRun"/> about 3
/// (same code paths, fewer iterations and samples). Saved in <c>report.json</c>.
/// </summary>
public sealed record DemoConfig
{
    public bool Quick { get; init; }
    /// <summary>Train the ring8, glyphs and motion teachers instead of using the shipped ones.</summary>
    public bool FromScratch { get; init; }
    public int Seed { get; init; }
    public int Threads { get; init; } = 2;
    public string Device { get; init; } = "cpu";

    /// <summary>DiT generator updates per phase of the 2-phase Phased DMD student; dmd and sgts (one expert) get twice as many, so every method makes the same number of updates.</summary>
    public int ImageIterationsPerPhase { get; init; } = 70;
    /// <summary>The same for the ring8 MLP students.</summary>
    public int RingIterationsPerPhase { get; init; } = 200;
    public int Toy1dIterations { get; init; } = 1500;
    /// <summary>Seeds per prompt of every image/video evaluation (the paper: 8).</summary>
    public int SeedsPerPrompt { get; init; } = 8;
    /// <summary>Evaluation prompts used per task; 0 = all of them (glyphs 21, motion 16).</summary>
    public int PromptLimit { get; init; }
    public int MixtureSamples { get; init; } = 5000;
    /// <summary>Fig. 5: the high-SNR expert is retrained for this many times the iterations, the low-SNR expert frozen.</summary>
    public int Fig5Multiplier { get; init; } = 4;
    /// <summary>The task of the Fig. 5 study and of the image-scale ablations (App. E.2, Table 6); glyphs when a glyphs teacher is available, else motion.</summary>
    public string StudyTask { get; init; } = "glyphs";
    /// <summary>Image-scale ablations (disjoint intervals, naive fake objective, 4 phases) on <see cref="StudyTask"/>.</summary>
    public bool ImageAblations { get; init; } = true;

    public static DemoConfig Default(int seed = 0) => new() { Seed = seed };

    public static DemoConfig QuickRun(int seed = 0) => new()
    {
        Quick = true, Seed = seed, ImageIterationsPerPhase = 12, RingIterationsPerPhase = 60, Toy1dIterations = 300,
        SeedsPerPrompt = 4, PromptLimit = 6, MixtureSamples = 2000, ImageAblations = false,
    };

    public void Validate()
    {
        static void Require(bool ok, string message) { if (!ok) throw new InputException(message); }
        Require(ImageIterationsPerPhase >= 2, $"imageIterationsPerPhase: must be ≥ 2 (got {ImageIterationsPerPhase})");
        Require(RingIterationsPerPhase >= 2, $"ringIterationsPerPhase: must be ≥ 2 (got {RingIterationsPerPhase})");
        Require(Toy1dIterations >= 1, $"toy1dIterations: must be ≥ 1 (got {Toy1dIterations})");
        Require(SeedsPerPrompt >= 2, $"seedsPerPrompt: must be ≥ 2 (diversity needs pairs; got {SeedsPerPrompt})");
        Require(PromptLimit >= 0, $"promptLimit: must be ≥ 0 (got {PromptLimit})");
        Require(MixtureSamples >= 100, $"mixtureSamples: must be ≥ 100 (got {MixtureSamples})");
        Require(Fig5Multiplier >= 2, $"fig5Multiplier: must be ≥ 2 (got {Fig5Multiplier})");
        Require(StudyTask is "glyphs" or "motion", $"studyTask: must be glyphs or motion (got '{StudyTask}')");
        Require(Threads >= 0, $"threads: must be ≥ 0 (got {Threads})");
    }
}

/// <summary>Progress of the demo: which part (of how many) and how far that part is.</summary>
public readonly record struct DemoProgress(int Part, int Parts, string Name, JobProgress Inner);

/// <summary>One model of a table: its measures (flattened, e.g. <c>features.composition.spreadRatio</c>), training time and updates.</summary>
public sealed record DemoEntry(string Name, string Method, string ModelDir, double? TrainSeconds, int GeneratorUpdates, Dictionary<string, double> Metrics);

/// <summary>Everything the demo measured; written as <c>report.json</c>.</summary>
public sealed record DemoReport
{
    public required DemoConfig Config { get; init; }
    public Dictionary<string, string> Teachers { get; init; } = new();
    /// <summary>Tasks left out and why (e.g. no shipped teacher).</summary>
    public Dictionary<string, string> Skipped { get; init; } = new();
    /// <summary>The task the Fig. 5 study and the image-scale ablations ran on.</summary>
    public string StudyTask { get; set; } = "";
    public Dictionary<string, double> TeacherTrainSeconds { get; init; } = new();
    public Toy1dResult? Toy1d { get; set; }
    public List<ComparisonRow> Ring8 { get; init; } = new();
    /// <summary>Per task (glyphs, motion): teacher, dmd, sgts, phased — the Table 2 / Table 3 analogues.</summary>
    public Dictionary<string, List<DemoEntry>> Methods { get; init; } = new();
    /// <summary>Fig. 5 analogue: the phased student (1×) and the one whose high-SNR expert trained Fig5Multiplier× longer.</summary>
    public List<DemoEntry> Fig5 { get; init; } = new();
    public Dictionary<string, double> Fig5Layout { get; init; } = new();
    /// <summary>App. E.2 / Table 6 analogues at image scale.</summary>
    public List<DemoEntry> Ablations { get; init; } = new();
    public List<DemoClaim> Claims { get; set; } = new();
    public double Seconds { get; set; }
    public string Machine { get; init; } = $"{Environment.ProcessorCount} logical cores, {Environment.OSVersion}";
}

/// <summary>A statement of the paper checked on our numbers: what was compared and whether it held.</summary>
public sealed record DemoClaim(string Claim, string Evidence, bool Holds);

/// <summary>
/// <c>phased-dmd demo</c>: on the shipped teachers (or, with --from-scratch, freshly trained ones) it
/// runs the paper's Fig. 2 in 1D, the ring8 comparison with its ablations, distils glyphs and
/// motion with dmd, sgts and Phased DMD, evaluates them with the same prompts and seeds, runs the
/// Fig. 5 and App. E.2 studies, and writes <c>report.md</c> and <c>report.json</c>. Every
/// distillation is restartable: running the demo again into the same folder reuses finished
/// students (same config) and resumes interrupted ones.
/// </summary>
public static class Demo
{
    public static readonly string[] ImageTasks = ["glyphs", "motion"];

    public static DemoReport Run(DemoConfig config, string outDir, Action<DemoProgress>? progress = null, Action<string>? warn = null)
    {
        config.Validate();
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(outDir);
        Runtime.Configure(config.Seed, config.Threads, config.Device);
        var report = new DemoReport { Config = config };
        var parts = 5 + ImageTasks.Length + (config.ImageAblations ? 1 : 0);
        var part = 0;
        Action<JobProgress> Part(string name)
        {
            var index = ++part;
            progress?.Invoke(new DemoProgress(index, parts, name, new JobProgress(0, 1, "")));
            return p => progress?.Invoke(new DemoProgress(index, parts, name, p));
        }

        // 1. Teachers: shipped, or trained here with the documented default configs.
        var teachers = Part("teachers");
        foreach (var task in (string[])["ring8", .. ImageTasks])
        {
            var dir = config.FromScratch ? null : Assets.Teacher(task);
            if (dir is null && !config.FromScratch && task == "glyphs")
            {
                // Training a glyphs teacher takes longer than the whole demo, and none renders legible characters yet (README).
                report.Skipped[task] = "no shipped glyphs teacher (assets/teachers/glyphs); --from-scratch trains one";
                warn?.Invoke($"{task}: {report.Skipped[task]}; the image-scale parts run on motion only");
                continue;
            }
            if (dir is null)
            {
                if (!config.FromScratch) warn?.Invoke($"no shipped {task} teacher found (assets/teachers/{task}); training one");
                dir = Path.Combine(outDir, "teachers", task);
                var seconds = TrainTeacher(TeacherConfig.ForTask(task) with { Seed = config.Seed, Threads = config.Threads, Device = config.Device }, dir,
                    p => teachers(p with { Status = $"{task} {p.Status}" }));
                report.TeacherTrainSeconds[task] = seconds;
            }
            report.Teachers[task] = dir;
        }

        // 2. Fig. 2 in 1D.
        var toy = Part("toy1d (paper Fig. 2)");
        report.Toy1d = Experiments.Toy1d.Run(new Toy1dConfig { Iterations = config.Toy1dIterations, Seed = config.Seed, Threads = config.Threads },
                                             Path.Combine(outDir, "toy1d"), toy);

        // 3. ring8: every method and the ablations against the exact mixture.
        var ring = Part("ring8 methods and ablations");
        var ringSettings = new ComparisonSettings { Seeds = 1, IterationsPerPhase = config.RingIterationsPerPhase, EvalSamples = config.MixtureSamples,
                                                    Base = new DistillConfig { Threads = config.Threads, Device = config.Device } };
        var ringEntries = MethodComparison.StandardEntries(ringSettings).Where(e => e.Name != "phased+full-phase-backprop").ToList();
        var ringPhased = ringEntries.Single(e => e.Name == "phased").Config!;
        ringEntries.Add(new("phased-K4", ringPhased with { Phases = 4, IterationsPerPhase = config.RingIterationsPerPhase / 2 }));
        report.Ring8.AddRange(MethodComparison.Run(report.Teachers["ring8"], ringSettings, Path.Combine(outDir, "ring8"), ringEntries,
            p => ring(p), warn));

        // 4. glyphs and motion: teacher, dmd, sgts, phased with the same prompts and seeds.
        var imageTasks = ImageTasks.Where(report.Teachers.ContainsKey).ToList();
        var encoders = imageTasks.ToDictionary(t => t, t => Assets.Encoder(t));
        report.StudyTask = imageTasks.Contains(config.StudyTask) ? config.StudyTask : imageTasks[^1];
        foreach (var task in ImageTasks.Where(t => !report.Teachers.ContainsKey(t))) progress?.Invoke(new DemoProgress(++part, parts, $"{task}: skipped", new JobProgress(1, 1, "")));
        foreach (var task in imageTasks)
        {
            var step = Part($"{task}: distil and evaluate");
            if (encoders[task] is null) warn?.Invoke($"no shipped {task} encoder (assets/encoders/{task}); feature measures are skipped");
            using var eval = new ImageEvaluator(task, report.Teachers[task], encoders[task], config);
            var entries = new List<DemoEntry> { eval.Evaluate("teacher", "teacher", report.Teachers[task], null, 0, Path.Combine(outDir, task)) };
            var n = config.ImageIterationsPerPhase;
            var baseConfig = ImageBase(report.Teachers[task], config);
            var runs = new (string Name, DistillConfig Config)[]
            {
                ("dmd", baseConfig with { Method = "dmd", Steps = 1, Phases = 1, IterationsPerPhase = 2 * n }),
                ("sgts", baseConfig with { Method = "sgts", Steps = 4, Phases = 1, IterationsPerPhase = 2 * n }),
                ("phased", baseConfig with { Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = n }),
            };
            for (var i = 0; i < runs.Length; i++)
            {
                var (name, c) = runs[i];
                var dir = Path.Combine(outDir, task, "students", name);
                var offset = i;
                var seconds = MethodComparison.Distil(report.Teachers[task], c, dir, warn,
                    p => step(new JobProgress(offset * 2L * n + p.Done, runs.Length * 2L * n, $"{name} {p.Status}")));
                entries.Add(eval.Evaluate(name, c.Method, dir, seconds, 2 * n, Path.Combine(outDir, task)));
            }
            report.Methods[task] = entries;
            Json.Write(Path.Combine(outDir, "report.json"), report);
        }

        // 5. Fig. 5: freeze the low-SNR expert (phase 1), retrain the high-SNR expert for k× the iterations.
        var study = report.StudyTask;
        var fig5 = Part($"{study}: Fig. 5 (high-SNR expert {config.Fig5Multiplier}× longer)");
        using (var eval = new ImageEvaluator(study, report.Teachers[study], encoders[study], config))
        {
            var task = study;
            var n = config.ImageIterationsPerPhase;
            var phasedDir = Path.Combine(outDir, task, "students", "phased");
            var phased = report.Methods[task].Single(e => e.Name == "phased");
            var longer = ImageBase(report.Teachers[task], config) with
            {
                Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = n, PhaseIterations = [n, config.Fig5Multiplier * n],
                InitFrom = Path.GetFullPath(phasedDir), StartPhase = 2,
            };
            var dir = Path.Combine(outDir, task, "students", $"phased-expert2-{config.Fig5Multiplier}x");
            var seconds = MethodComparison.Distil(report.Teachers[task], longer, dir, warn, fig5);
            var longEntry = eval.Evaluate($"phased, high-SNR expert {config.Fig5Multiplier}×", "phased", dir, seconds, n + config.Fig5Multiplier * n,
                                          Path.Combine(outDir, task), imageName: $"phased-expert2-{config.Fig5Multiplier}x");
            report.Fig5.Add(phased with { Name = "phased, high-SNR expert 1×" });
            report.Fig5.Add(longEntry);
            foreach (var (k, v) in eval.LayoutAgreement(phasedDir, dir)) report.Fig5Layout[k] = v;
        }
        Json.Write(Path.Combine(outDir, "report.json"), report);

        // 6. App. E.2 and Table 6 at image scale.
        if (config.ImageAblations)
        {
            var abl = Part($"{study}: ablations (disjoint, naive, 4 phases)");
            var task = study;
            var n = config.ImageIterationsPerPhase;
            var phasedDir = Path.GetFullPath(Path.Combine(outDir, task, "students", "phased"));
            var phased = ImageBase(report.Teachers[task], config) with { Method = "phased", Steps = 4, Phases = 2, IterationsPerPhase = n };
            using var eval = new ImageEvaluator(task, report.Teachers[task], encoders[task], config);
            report.Ablations.Add(report.Methods[task].Single(e => e.Name == "phased") with { Name = "phased (nested, subinterval, K=2)" });
            var runs = new (string Name, string Dir, DistillConfig Config, int Updates)[]
            {
                // Phase 1's interval (t_b1, 1] is the same for nested and disjoint, so the disjoint run reuses phase 1.
                ("phased + disjoint intervals", "phased-disjoint", phased with { Interval = IntervalKind.Disjoint, InitFrom = phasedDir, StartPhase = 2 }, n),
                ("phased + naive fake objective", "phased-naive", phased with { FakeObjective = FakeObjective.Naive }, 2 * n),
                ("phased, 4 phases (K=4)", "phased-K4", phased with { Phases = 4, IterationsPerPhase = Math.Max(1, n / 2) }, 4 * Math.Max(1, n / 2)),
            };
            var total = runs.Sum(r => (long)r.Updates);
            long before = 0;
            foreach (var (name, dirName, c, updates) in runs)
            {
                var dir = Path.Combine(outDir, task, "students", dirName);
                var offset = before;
                var seconds = MethodComparison.Distil(report.Teachers[task], c, dir, warn,
                    p => abl(new JobProgress(offset + p.Done, total, $"{dirName} {p.Status}")));
                report.Ablations.Add(eval.Evaluate(name, "phased", dir, seconds, c.StartPhase == 2 ? 2 * n : updates, Path.Combine(outDir, task), imageName: dirName));
                before += updates;
            }
        }

        // 7. The report.
        Part("report");
        report.Claims = DemoReportWriter.Claims(report);
        report.Seconds = clock.Elapsed.TotalSeconds;
        Json.Write(Path.Combine(outDir, "report.json"), report);
        AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), DemoReportWriter.Markdown(report, outDir));
        return report;
    }

    private static DistillConfig ImageBase(string teacherDir, DemoConfig config)
        => DistillConfig.ForTeacher(ModelDirectory.ReadCard(teacherDir)) with { Seed = config.Seed, Threads = config.Threads, Device = config.Device };

    /// <summary>Trains a teacher beside its final place and moves it in only when complete; returns the wall time.</summary>
    private static double TrainTeacher(TeacherConfig config, string dir, Action<JobProgress> progress)
    {
        if (File.Exists(Path.Combine(dir, ModelDirectory.CardFile))
            && RunState.Hash(Json.Read<TeacherConfig>(Path.Combine(dir, ModelDirectory.RunConfigFile), "saved teacher config")) == RunState.Hash(config))
            return Json.Read<RunResources>(Path.Combine(dir, "resources.json"), "teacher run resources").WallSeconds;
        var incoming = dir + ".incoming";
        if (Directory.Exists(incoming)) Directory.Delete(incoming, recursive: true);
        TeacherTrainer.Train(config, incoming, progress);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.Move(incoming, dir);
        return Json.Read<RunResources>(Path.Combine(dir, "resources.json"), "teacher run resources").WallSeconds;
    }

    /// <summary>Flattens a JSON object's numeric leaves into dotted keys (<c>features.composition.wasserstein</c>).</summary>
    public static Dictionary<string, double> Flatten<T>(T value)
    {
        var result = new Dictionary<string, double>();
        void Walk(JsonNode? node, string prefix)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (k, v) in o) Walk(v, prefix.Length == 0 ? k : $"{prefix}.{k}");
                    break;
                case JsonValue v when v.TryGetValue<double>(out var d):
                    result[prefix] = d;
                    break;
            }
        }
        Walk(JsonNode.Parse(Json.Serialize(value)), "");
        return result;
    }

    /// <summary>
    /// Samples a model on the task's evaluation prompts × seeds (the same noises for every model),
    /// measures it (task measures, encoder measures, Fréchet distance to the teacher's samples) and
    /// writes its sample grid (and, for video, an animated preview).
    /// </summary>
    private sealed class ImageEvaluator : IDisposable
    {
        private readonly string _task;
        private readonly DemoConfig _config;
        private readonly IReadOnlyList<string> _prompts;
        private readonly FeatureEncoder? _encoder;
        private readonly Tensor? _teacherFeatures;

        public ImageEvaluator(string task, string teacherDir, string? encoderDir, DemoConfig config)
        {
            _task = task;
            _config = config;
            var all = ProceduralTasks.Resolve(task).EvaluationPrompts;
            _prompts = config.PromptLimit > 0 ? all.Take(config.PromptLimit).ToList() : all;
            if (encoderDir is null) return;
            var (card, encoder) = EncoderTraining.Load(encoderDir);
            if (card.Spec.Task != task) { encoder.Dispose(); throw new InputException($"encoder {encoderDir} is for '{card.Spec.Task}', not '{task}'"); }
            _encoder = encoder;
            using var teacherGrid = Grid(teacherDir);
            using var noGrad = torch.no_grad();
            _teacherFeatures = _encoder.forward(teacherGrid);
        }

        private Tensor Grid(string modelDir)
        {
            using var model = LoadedModel.Load(modelDir, Runtime.ResolveDevice(_config.Device));
            return ModelSampling.SamplePromptGrid(model, _prompts, _config.SeedsPerPrompt, new SampleOptions(Seed: _config.Seed + 20_000, Device: _config.Device));
        }

        public DemoEntry Evaluate(string name, string method, string modelDir, double? seconds, int updates, string imageDir, string? imageName = null)
        {
            using var scope = torch.NewDisposeScope();
            var grid = Grid(modelDir);
            var pixels = grid.data<float>().ToArray();
            var metrics = _task == "glyphs"
                ? Flatten(GlyphMetrics.FromSamples(pixels, _prompts, _config.SeedsPerPrompt))
                : Flatten(MotionMetrics.FromSamples(pixels, _prompts, _config.SeedsPerPrompt));
            if (_encoder is not null)
            {
                foreach (var (k, v) in Flatten(EncoderMetrics.Evaluate(_encoder, grid, _prompts, _config.SeedsPerPrompt, _config.Seed))) metrics[$"features.{k}"] = v;
                using var noGrad = torch.no_grad();
                metrics["features.frechetToTeacher"] = DiversityMetrics.FrechetDistance(_encoder.forward(grid), _teacherFeatures!);
            }
            SaveImages(grid, imageDir, imageName ?? name);
            return new DemoEntry(name, method, modelDir, seconds, updates, metrics);
        }

        /// <summary>The first (up to) 6 prompts × 4 seeds as a Fig. 3 grid; videos also as an animated PNG.</summary>
        private void SaveImages(Tensor grid, string dir, string name)
        {
            Directory.CreateDirectory(dir);
            using var scope = torch.NewDisposeScope();
            int columns = Math.Min(6, _prompts.Count), rows = Math.Min(4, _config.SeedsPerPrompt);
            var index = torch.tensor(Enumerable.Range(0, rows).SelectMany(s => Enumerable.Range(0, columns).Select(p => (long)(s * _prompts.Count + p))).ToArray());
            var subset = grid.index_select(0, index);
            var titles = _prompts.Take(columns).ToList();
            var video = subset.dim() == 5;
            ImageGrid.Save(Path.Combine(dir, name + ".png"), subset, rows, columns, titles, zoom: video ? 3 : 4);
            if (!video) return;
            var frames = Enumerable.Range(0, (int)subset.shape[1]).Select(f => ImageGrid.Render(subset, rows, columns, titles, zoom: 4, frame: f)).ToList();
            AnimatedPng.Save(Path.Combine(dir, name + ".apng"), frames);
            foreach (var f in frames) f.Dispose();
        }

        /// <summary>Fig. 5: same noises through two students; glyph layouts compared sample by sample.</summary>
        public Dictionary<string, double> LayoutAgreement(string dirA, string dirB)
        {
            using var a = Grid(dirA);
            using var b = Grid(dirB);
            var (same, shift) = _task == "glyphs"
                ? GlyphMetrics.LayoutAgreement(a.data<float>().ToArray(), b.data<float>().ToArray())
                : MotionMetrics.LayoutAgreement(a.data<float>().ToArray(), b.data<float>().ToArray());
            return new() { ["sameLayoutFraction"] = same, ["meanCentreShiftPixels"] = shift };
        }

        public void Dispose()
        {
            _encoder?.Dispose();
            _teacherFeatures?.Dispose();
        }
    }
}
