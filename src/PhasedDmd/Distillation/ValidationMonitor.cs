using System.Diagnostics;
using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Evaluation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// Measures a distillation against its teacher while it trains (docs/monitoring.md). At the start of a run the teacher
/// samples a fixed validation set — V noises and conditions from the run's seed, the teacher's own steps, solver and
/// shift, and the run's teacher guidance — stored in <c>validation/reference.safetensors</c> and reused as it is on
/// resume. Each validation runs the current student (with the phase's EMA weights: the student the run would save if it
/// stopped now) on the same noises and conditions and logs:
/// <list type="bullet">
/// <item><c>val_swd</c>: the sliced Wasserstein-2 distance of its samples to the teacher's (<see cref="SlicedWasserstein"/>; any model, any dimension);</item>
/// <item><c>val_swd_b{k}</c>, for each inner phase boundary t_k: the student's x at t_k against the teacher's samples
/// noised to t_k (α x₀ + σ ε, with stored ε) — the distribution phase k matches;</item>
/// <item><c>val_fd</c>: the Fréchet distance in the task's shipped feature network to the teacher's samples, where there is one;</item>
/// <item><c>val_weight_tv</c>: the exact mode-weight TV of the samples, for teachers of an analytic mixture;</item>
/// <item><c>val_seconds</c>: what the validation cost.</item>
/// </list>
/// Image-shaped samples also go to a grid per validation, <c>validation/step_NNNNNN.png</c> (the same noises every time),
/// beside the teacher's <c>validation/teacher.png</c>. With <see cref="DistillConfig.KeepBest"/> the student of the lowest
/// <c>val_swd</c> in the last phase is kept in <c>best/</c> (with <c>best/best.json</c>). Runs on the writing rank only.
/// </summary>
public sealed class ValidationMonitor : IDisposable
{
    public const string Folder = "validation";
    public const string ReferenceFile = "reference.safetensors";
    public const string ReferenceInfoFile = "reference.json";
    public const string TeacherGrid = "teacher.png";
    public const string BestFolder = "best";
    public const string BestFile = "best.json";

    /// <summary>Images shown in a validation grid (the first of the validation set).</summary>
    public const int GridImages = 64;

    private readonly string _dir;
    private readonly string _runDir;
    private readonly StudentGenerator _student;
    private readonly PhaseLayout _layout;
    private readonly NoiseSchedule _schedule;
    private readonly Device _device;
    private readonly long _seed;
    private readonly Tensor _noise;
    private readonly Tensor _teacher;
    private readonly Tensor? _condition;
    private readonly Tensor[] _boundaryTargets;
    private readonly FeatureEncoder? _encoder;
    private readonly Tensor? _teacherFeatures;
    private readonly GaussianMixture? _mixture;
    private readonly bool _imageShaped;
    private double _best;

    /// <summary>Seconds this process spent on validation (the reference included).</summary>
    public double Seconds { get; private set; }

    /// <summary>Seconds the teacher's reference samples took (0 when read back on resume).</summary>
    public double ReferenceSeconds { get; }

    /// <summary>What the stored reference holds.</summary>
    /// <param name="Cached">The teacher's samples came from the cache (<see cref="CacheDirectory"/>), made by an earlier run of the same teacher.</param>
    public sealed record ReferenceInfo(int Samples, int TeacherSteps, string Solver, double Cfg, double Shift, long Seed, double Seconds, bool Cached);

    /// <summary>What <c>best/best.json</c> says of the kept student.</summary>
    public sealed record BestInfo(long Step, int Phase, int Iteration, double ValSwd);

    private ValidationMonitor(string runDir, Teacher teacher, StudentGenerator student, IConditionSource? conditions, DistillConfig config, PhaseLayout layout,
                              Device device, bool resumed)
    {
        _runDir = runDir;
        _dir = Path.Combine(runDir, Folder);
        _student = student;
        _layout = layout;
        _schedule = teacher.Schedule;
        _device = device;
        _seed = ValidationSeed(config.Seed);
        var clock = Stopwatch.StartNew();
        if (!resumed) ClearEarlierRun();
        var path = Path.Combine(_dir, ReferenceFile);
        var reference = resumed && File.Exists(path) ? Read(path, config.ValidationSamples, teacher.SampleShape) : null;
        if (reference is null)
        {
            reference = Make(teacher, conditions, config, layout, device, out var fromCache);
            Save(path, reference);
            ReferenceSeconds = clock.Elapsed.TotalSeconds;
            var sampling = teacher.Card.Sampling;
            Json.Write(Path.Combine(_dir, ReferenceInfoFile),
                new ReferenceInfo(config.ValidationSamples, sampling.Steps, sampling.Solver, teacher.Guidance, sampling.Shift, _seed, ReferenceSeconds, fromCache));
        }
        _noise = reference["noise"];
        _teacher = reference["teacher"];
        _condition = reference.GetValueOrDefault("condition");
        _boundaryTargets = Enumerable.Range(1, layout.Phases - 1).Select(k =>
        {
            var t = layout.BoundaryTime(k);
            using var eps = reference[$"boundary_noise_{k}"];
            return _schedule.Alpha(t) * _teacher + _schedule.Sigma(t) * eps;
        }).ToArray();
        reference.Remove("noise"); reference.Remove("teacher"); reference.Remove("condition");
        foreach (var rest in reference.Values) rest.Dispose();

        _imageShaped = IsImage(teacher.SampleShape);
        if (_imageShaped && !File.Exists(Path.Combine(_dir, TeacherGrid))) SaveGrid(Path.Combine(_dir, TeacherGrid), _teacher);
        _mixture = teacher.Card.Task.Mixture;
        if (TaskRegistry.TryFind(teacher.Card.Task.Name) is IEncoderTask { Encoder: not null } task && EncoderTraining.Shipped(task.Name) is { } encoderDir)
        {
            _encoder = EncoderTraining.LoadFor(encoderDir, task.Name, "validation encoder");
            using var noGrad = torch.no_grad();
            _teacherFeatures = _encoder.Embed(_teacher);
        }
        _best = File.Exists(Path.Combine(runDir, BestFolder, BestFile))
            ? Json.Read<BestInfo>(Path.Combine(runDir, BestFolder, BestFile), "best student's record").ValSwd
            : double.PositiveInfinity;
        Seconds = clock.Elapsed.TotalSeconds;
    }

    /// <summary>A fresh run in a folder an unfinished run left behind: its best student and validation grids are not this run's.</summary>
    private void ClearEarlierRun()
    {
        var best = Path.Combine(_runDir, BestFolder);
        if (Directory.Exists(best)) Directory.Delete(best, recursive: true);
        if (Directory.Exists(_dir))
            foreach (var grid in Directory.GetFiles(_dir, "step_*.png").Append(Path.Combine(_dir, TeacherGrid)).Where(File.Exists)) File.Delete(grid);
    }

    /// <summary>
    /// The monitor of a run in <paramref name="runDir"/>, or null when validation is off or this process does not write.
    /// A resumed run reads the stored reference back; a fresh one (re)makes it.
    /// </summary>
    public static ValidationMonitor? Open(string runDir, bool isWriter, Teacher teacher, StudentGenerator student, IConditionSource? conditions,
                                          DistillConfig config, PhaseLayout layout, Device device, bool resumed)
        => isWriter && config.ValidateEvery > 0 ? new ValidationMonitor(runDir, teacher, student, conditions, config, layout, device, resumed) : null;

    /// <summary>The validation set's own random stream: apart from the training's, so validating never changes what is trained.</summary>
    public static long ValidationSeed(long runSeed) => runSeed + 0x5A11DA7E;

    /// <summary>Whether samples of this shape are drawn as a picture: [C, H, W] images or [F, C, H, W] videos with 1 or 3 channels.</summary>
    public static bool IsImage(long[] shape) => shape.Length is 3 or 4 && shape[^3] is 1 or 3 && shape[^1] >= 4;

    /// <summary>
    /// Validates the current student after update <paramref name="step"/> (phase k, iteration <paramref name="iteration"/>; 0 = before
    /// training) and returns the logged scalars. During a phase, <paramref name="phase"/>'s EMA weights stand in for its expert.
    /// With <paramref name="keepBest"/> (given in the last phase), a new lowest <c>val_swd</c> saves the student into the folder it is called with.
    /// </summary>
    public IReadOnlyList<(string Key, double Value)> Validate(PhaseState? phase, int k, int iteration, long step, Action<string>? keepBest = null)
    {
        var clock = Stopwatch.StartNew();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var trained = SwapInEma(phase);
        try
        {
            var (samples, boundaries) = Run();
            var swd = SlicedWasserstein.Distance(samples, _teacher, _seed);
            var values = new List<(string, double)> { ("val_swd", swd) };
            for (var b = 0; b < boundaries.Length; b++)
                values.Add(($"val_swd_b{b + 1}", SlicedWasserstein.Distance(boundaries[b], _boundaryTargets[b], _seed)));
            if (_encoder is not null) values.Add(("val_fd", Finite(samples) ? DiversityMetrics.FrechetDistance(_encoder.Embed(samples), _teacherFeatures!) : double.NaN));
            if (_mixture is not null) values.Add(("val_weight_tv", MixtureMetrics.Evaluate(_mixture, samples).WeightTv));
            if (_imageShaped) SaveGrid(Path.Combine(_dir, $"step_{step:D6}.png"), samples);
            if (keepBest is not null && swd < _best)
            {
                _best = swd;
                SaveBest(keepBest, new BestInfo(step, k, iteration, swd));
            }
            Seconds += clock.Elapsed.TotalSeconds;
            values.Add(("val_seconds", clock.Elapsed.TotalSeconds));
            return values;
        }
        finally
        {
            Restore(phase, trained);
        }
    }

    /// <summary>The student's samples from the validation noises and its x at every inner phase boundary, on the CPU.</summary>
    private (Tensor Samples, Tensor[] Boundaries) Run()
    {
        using var g = Runtime.NewGenerator(_seed + 1);   // a renoising solver's draws: the same at every validation
        var samples = new List<Tensor>();
        var boundaries = Enumerable.Range(1, _layout.Phases - 1).Select(_ => new List<Tensor>()).ToArray();
        var conditions = _condition?.split(ModelSampling.ClassGridChunk);
        var chunks = _noise.split(ModelSampling.ClassGridChunk);
        for (var c = 0; c < chunks.Length; c++)
        {
            var x = chunks[c].to(_device);
            var condition = conditions?[c].to(_device);
            for (var k = 1; k <= _layout.Phases; k++)
            {
                x = _student.Run(x, _layout.PhaseStart(k), _layout.PhaseEnd(k), condition, g);
                if (k < _layout.Phases) boundaries[k - 1].Add(x.cpu());
            }
            samples.Add(x.cpu());
        }
        return (torch.cat(samples), boundaries.Select(b => torch.cat(b)).ToArray());
    }

    private static bool Finite(Tensor x) => x.isfinite().all().item<bool>();

    private static void SaveGrid(string path, Tensor samples)
    {
        var n = (int)Math.Min(samples.shape[0], GridImages);
        var columns = Math.Min(8, n);
        var rows = n / columns;
        Plotting.ImageGrid.Save(path, samples[..(rows * columns)], rows, columns, zoom: samples.shape[^1] <= 32 ? 3 : 2);
    }

    /// <summary>Saves the student in <c>best/</c>: written beside it, then swapped in, so a crash leaves the previous best intact.</summary>
    private void SaveBest(Action<string> save, BestInfo info)
    {
        var best = Path.Combine(_runDir, BestFolder);
        var partial = best + ".partial";
        var old = best + ".old";
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        save(partial);
        Json.Write(Path.Combine(partial, BestFile), info);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        if (Directory.Exists(best)) Directory.Move(best, old);
        Directory.Move(partial, best);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
    }

    /// <summary>Puts the phase's EMA weights into its expert and returns the trained weights they replaced (null without EMA).</summary>
    private static Tensor[]? SwapInEma(PhaseState? phase)
    {
        if (phase?.Ema is not { } ema) return null;
        var trained = phase.Trainable.Select(p => p.detach().clone()).ToArray();
        ema.CopyTo(phase.Expert);
        return trained;
    }

    private static void Restore(PhaseState? phase, Tensor[]? trained)
    {
        if (phase is null || trained is null) return;
        using var noGrad = torch.no_grad();
        for (var i = 0; i < trained.Length; i++) phase.Trainable[i].copy_(trained[i]);
        foreach (var t in trained) t.Dispose();
    }

    /// <summary>The validation set: noises, conditions and boundary noises from the validation seed, and the teacher's samples.</summary>
    private static Dictionary<string, Tensor> Make(Teacher teacher, IConditionSource? conditions, DistillConfig config, PhaseLayout layout, Device device,
                                                   out bool fromCache)
    {
        fromCache = false;
        var v = config.ValidationSamples;
        using var g = Runtime.NewGenerator(ValidationSeed(config.Seed));
        var noise = torch.randn([v, .. teacher.SampleShape], generator: g);
        var condition = conditions?.Sample(v, g);
        var reference = new Dictionary<string, Tensor> { ["noise"] = noise };
        if (condition is not null) reference["condition"] = condition;
        for (var k = 1; k < layout.Phases; k++) reference[$"boundary_noise_{k}"] = torch.randn([v, .. teacher.SampleShape], generator: g);
        var cached = CacheDirectory() is { } cache ? Path.Combine(cache, "validation", CacheKey(teacher, noise, condition) + ".safetensors") : null;
        if (cached is not null && ReadCached(cached, noise.shape) is { } samples)
        {
            reference["teacher"] = samples;
            fromCache = true;
            return reference;
        }
        var sampling = teacher.Card.Sampling;
        var times = Timesteps.Grid(sampling.Steps, sampling.Shift);
        var solver = OdeSolvers.Parse(sampling.Solver);
        var conditionChunks = condition?.split(ModelSampling.ClassGridChunk);
        reference["teacher"] = torch.cat(noise.split(ModelSampling.ClassGridChunk).Select((x, i) =>
        {
            using var scope = torch.NewDisposeScope();
            return OdeSolvers.Integrate(teacher.Network, x.to(device), times, conditionChunks?[i].to(device), teacher.Guidance, solver, teacher.Schedule)
                .cpu().MoveToOuterDisposeScope();
        }).ToArray());
        if (cached is not null)
        {
            try { AtomicFile.Write(cached, temp => Safetensors.SaveStateDict(temp, new Dictionary<string, Tensor> { ["teacher"] = reference["teacher"] })); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // a cache that cannot be written only costs the next run the sampling
        }
        return reference;
    }

    /// <summary>
    /// Where teacher samples of validation sets are kept between runs (the teacher's sampling is the monitor's largest
    /// cost, and runs of one teacher share it): <c>PHASED_DMD_CACHE</c> (<c>off</c> = no cache), else
    /// <c>$XDG_CACHE_HOME/phased-dmd</c>, else <c>~/.cache/phased-dmd</c>.
    /// </summary>
    public static string? CacheDirectory()
    {
        var set = Environment.GetEnvironmentVariable("PHASED_DMD_CACHE");
        if (set is "off") return null;
        if (!string.IsNullOrEmpty(set)) return set;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "phased-dmd");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "phased-dmd");
    }

    /// <summary>
    /// What the teacher's samples depend on, hashed: the network's card (architecture, schedule, sampling, prediction), every
    /// parameter and buffer, the guidance, and the noises and conditions themselves.
    /// </summary>
    private static string CacheKey(Teacher teacher, Tensor noise, Tensor? condition)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        void Text(string s) => hash.AppendData(System.Text.Encoding.UTF8.GetBytes(s + "\n"));
        void Bytes(string name, Tensor t)
        {
            using var cpu = t.detach().cpu().contiguous();
            Text($"{name} {cpu.dtype} [{string.Join(",", cpu.shape)}]");
            hash.AppendData(cpu.bytes);
        }
        Text(Json.Serialize(teacher.Card.Network));
        Text(teacher.Card.Schedule);
        Text(Json.Serialize(teacher.Card.Sampling));
        Text(teacher.Guidance.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        foreach (var (name, t) in teacher.Network.state_dict().OrderBy(kv => kv.Key, StringComparer.Ordinal)) Bytes(name, t);
        Bytes("noise", noise);
        if (condition is not null) Bytes("condition", condition);
        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant()[..32];
    }

    /// <summary>Cached teacher samples of this shape, or null (missing or unreadable: then they are sampled again).</summary>
    private static Tensor? ReadCached(string path, long[] shape)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var saved = Safetensors.LoadStateDict(path);
            if (saved.Remove("teacher", out var samples) && samples.shape.SequenceEqual(shape)) { foreach (var t in saved.Values) t.Dispose(); return samples; }
            samples?.Dispose();
            foreach (var t in saved.Values) t.Dispose();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException or FormatException or System.Text.Json.JsonException) { }
        return null;
    }

    private static void Save(string path, Dictionary<string, Tensor> reference)
        => AtomicFile.Write(path, temp => Safetensors.SaveStateDict(temp, reference));

    /// <summary>The stored reference, or null when it does not fit this run (then it is made again).</summary>
    private static Dictionary<string, Tensor>? Read(string path, int samples, long[] shape)
    {
        var reference = Safetensors.LoadStateDict(path);
        if (reference.TryGetValue("noise", out var noise) && reference.ContainsKey("teacher") && noise.shape[0] == samples && noise.shape.Skip(1).SequenceEqual(shape))
            return reference;
        foreach (var t in reference.Values) t.Dispose();
        return null;
    }

    public void Dispose()
    {
        _noise.Dispose();
        _teacher.Dispose();
        _condition?.Dispose();
        foreach (var t in _boundaryTargets) t.Dispose();
        _teacherFeatures?.Dispose();
        _encoder?.Dispose();
    }
}
