using PhasedDmd.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.IO;

/// <summary>What <c>import-teacher</c> was asked to import (recorded as <c>import.json</c> in the model directory).</summary>
public sealed record TorchScriptImportOptions
{
    public required string TorchScript { get; init; }
    /// <summary>velocity, x0, epsilon or v_prediction; may be left out when <see cref="SchedulerConfig"/> gives it.</summary>
    public string? Prediction { get; init; }
    public required long[] SampleShape { get; init; }
    /// <summary>Null: 1, or the scheduler config's num_train_timesteps.</summary>
    public double? TimeScale { get; init; }
    /// <summary>Null: flow, or the scheduler config's schedule.</summary>
    public string? Schedule { get; init; }
    /// <summary>A diffusers scheduler_config.json (<see cref="IO.SchedulerConfig"/>): schedule, prediction, time scale and shift in one file.</summary>
    public string? SchedulerConfig { get; init; }
    /// <summary>Null: 1, or the scheduler config's shift.</summary>
    public double? Shift { get; init; }
    public int Steps { get; init; } = 40;
    public double Cfg { get; init; } = 1;
    /// <summary>The conditions file of a conditional module (<see cref="ConditionsFile"/>); null for forward(x, t).</summary>
    public string? Conditions { get; init; }
    /// <summary>A text file naming the conditions' rows, one per line (optional).</summary>
    public string? Names { get; init; }
    /// <summary>
    /// The registered task the model is measured as (e.g. <c>fashion-mnist</c>, whose evaluation knows the real data); null:
    /// <c>imported</c>, a task with no data of its own (scored against a mixture given to <c>eval --mixture</c>).
    /// </summary>
    public string? Task { get; init; }
    /// <summary>
    /// A mixture JSON: the analytic distribution the teacher models (e.g. a teacher built from the closed form). The card keeps
    /// it, so <c>eval</c> and the validation monitor give exact measures (mode coverage, weight TV) without <c>--mixture</c>.
    /// </summary>
    public string? Mixture { get; init; }
    /// <summary>
    /// A regex over the script's parameter names picking the LoRA adapter parameters its author put in (e.g. <c>lora_</c>):
    /// <c>distill --experts lora</c> then trains only those, on the teacher's shared frozen base. Null: none.
    /// </summary>
    public string? Adapters { get; init; }
    /// <summary>The adapters' α (the wrapper's scale is α / r), written into the PEFT export's adapter_config.json; null: α = r.</summary>
    public double? AdapterAlpha { get; init; }
    /// <summary>SHA-256 of the imported file (filled in by the import).</summary>
    public string? Sha256 { get; init; }

    /// <summary>
    /// The settings in force: the scheduler config's where one is given (a conflicting explicit setting is an
    /// input error), else the options' own with their defaults (flow, time scale 1, shift 1, Euler).
    /// </summary>
    public (string Schedule, string Prediction, double TimeScale, double Shift, string Solver) Resolve()
    {
        if (SchedulerConfig is null)
        {
            if (string.IsNullOrWhiteSpace(Prediction)) throw new InputException("prediction: give --prediction KIND (or --scheduler-config FILE)");
            return (Schedule ?? "flow", Prediction, TimeScale ?? 1, Shift ?? 1, "euler");
        }
        var config = IO.SchedulerConfig.Load(SchedulerConfig);
        var prediction = Diffusion.Predictions.Name(config.Prediction);
        if (Prediction is not null && Prediction != prediction)
            throw new InputException($"prediction: --prediction {Prediction} contradicts the scheduler config's {prediction}");
        if (Schedule is not null && Schedule != config.Schedule)
            throw new InputException($"schedule: --schedule {Schedule} contradicts the scheduler config ({config.Schedule})");
        if (TimeScale is { } ts && ts != config.TimeScale)
            throw new InputException($"time-scale: --time-scale {ts} contradicts the scheduler config's num_train_timesteps {config.TimeScale}");
        return (config.Schedule, prediction, config.TimeScale, Shift ?? config.Shift, config.Solver);
    }
}

/// <summary>
/// Turns a TorchScript file into a teacher's model directory, after checking it: the file loads as
/// TorchScript, <c>forward(x, t)</c> (or <c>forward(x, t, cond)</c> with rows of the conditions file, and
/// with its <c>null</c> row) runs on a small batch, its output has the sample shape and is finite. Any
/// failure is an <see cref="InputException"/> naming the problem, and nothing is written.
/// </summary>
public static class TorchScriptImport
{
    public const string ImportFile = "import.json";
    /// <summary>The task recorded when none is named: data the project does not know.</summary>
    public const string DefaultTask = "imported";

    public static ModelCard Import(TorchScriptImportOptions o, string outDir)
    {
        ModelDirectory.RequireNoModelIn(outDir);
        var (schedule, prediction, timeScale, shift, solver) = o.Resolve();
        Diffusion.Predictions.Parse(prediction);
        if (o.SampleShape.Length == 0 || o.SampleShape.Any(d => d <= 0))
            throw new InputException($"sample-shape: expected positive sizes D1[,D2,…] (got [{string.Join(",", o.SampleShape)}])");
        if (!(timeScale > 0)) throw new InputException($"time-scale: must be > 0 (got {timeScale})");
        if (!(shift > 0)) throw new InputException($"shift: must be > 0 (got {shift})");
        if (o.Steps < 1) throw new InputException($"steps: must be ≥ 1 (got {o.Steps})");
        if (!(o.Cfg >= 0) || !double.IsFinite(o.Cfg)) throw new InputException($"cfg: must be ≥ 0 (got {o.Cfg})");
        if (o.Conditions is null && o.Cfg != 1) throw new InputException($"cfg: an unconditional teacher samples without guidance (got {o.Cfg}); guidance needs --conditions");
        if (o.Conditions is null && o.Names is not null) throw new InputException("names: names the rows of a conditions file; give --conditions too");
        IReadOnlyList<string>? names = null;
        if (o.Conditions is not null)
            using (var conditions = ConditionsFile.Load(o.Conditions, o.Names))
            {
                if (o.Cfg != 1 && conditions.Null is null)
                    throw new InputException($"cfg: guidance {o.Cfg} needs the unconditional condition, and {o.Conditions} has no '{ConditionsFile.NullKey}' row");
                names = conditions.HasNames ? conditions.Names : null;
            }
        var task = o.Task ?? DefaultTask;
        if (task != DefaultTask && Data.TaskRegistry.Find(task).CheckImported(o.SampleShape, names) is { } refused)
            throw new InputException($"task: {refused}");
        var mixture = o.Mixture is null ? null : Data.GaussianMixture.Load(o.Mixture);
        if (mixture is not null && (o.SampleShape.Length != 1 || o.SampleShape[0] != mixture.Dim))
            throw new InputException($"mixture: {o.Mixture} is {mixture.Dim}-dimensional, but the samples are [{string.Join(", ", o.SampleShape)}]");
        try { Diffusion.NoiseSchedule.FromName(schedule); }
        catch (ArgumentException e) { throw new InputException($"schedule: {e.Message}"); }

        var source = Path.GetFullPath(o.TorchScript);
        if (o.AdapterAlpha is { } alpha && !(alpha > 0 && double.IsFinite(alpha))) throw new InputException($"adapter-alpha: must be positive (got {alpha})");
        if (o.AdapterAlpha is not null && o.Adapters is null) throw new InputException("adapter-alpha: belongs to the adapters; give --adapters PATTERN too");
        var probe = new TorchScriptSpec(source, o.SampleShape, prediction, timeScale, schedule,
                                        o.Conditions is null ? null : Path.GetFullPath(o.Conditions), o.Names is null ? null : Path.GetFullPath(o.Names),
                                        o.Adapters, o.AdapterAlpha);
        using (var model = new TorchScriptVelocityModel(probe))
        {
            Check(model, o.SampleShape);
            CheckAdapters(model, o.Adapters);
        }
        var network = probe with
        {
            Script = TorchScriptSpec.FileName,
            Conditions = o.Conditions is null ? null : ConditionsFile.FileName,
            Names = o.Names is null ? null : ConditionsFile.NamesFileName,
            Directory = Path.GetFullPath(outDir),
        };

        var card = new ModelCard
        {
            Role = "teacher",
            Schedule = schedule,
            Task = new TaskSpec(task, mixture),
            Network = network,
            Sampling = new SamplingDefaults(o.Steps, solver, o.Cfg, shift),
        };
        Directory.CreateDirectory(outDir);
        foreach (var (from, to) in new[] { (source, network.Script), (probe.Conditions, network.Conditions), (probe.Names, network.Names) })
            if (from is not null) AtomicFile.Write(Path.Combine(outDir, to!), temp => File.Copy(from, temp, overwrite: true));
        using (var model = card.Network.Build()) ModelDirectory.Save(outDir, card, model);
        Json.Write(Path.Combine(outDir, ImportFile), o with
        {
            TorchScript = source, Conditions = probe.Conditions, Names = probe.Names, Sha256 = ModelDirectory.Sha256(source),
            SchedulerConfig = o.SchedulerConfig is null ? null : Path.GetFullPath(o.SchedulerConfig),
        });
        return card;
    }

    /// <summary>The adapter pattern picks some of the script's parameters, not all of them (the base must stay).</summary>
    private static void CheckAdapters(TorchScriptVelocityModel model, string? pattern)
    {
        if (pattern is null) return;
        var adapters = LoraAdapters.DeclaredNames(model)!;
        var all = model.named_parameters().Count();
        if (adapters.Count == all)
            throw new InputException($"adapters: '{pattern}' matches all {all} parameters of the script; it should pick only the adapters (e.g. lora_), not the base");
    }

    /// <summary>Runs the module on a batch of 4 (with conditions: rows of the file, then its null row): signature, output shape and finiteness.</summary>
    private static void Check(TorchScriptVelocityModel model, long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        using var g = new Generator(0);
        var x = torch.randn([4, .. shape], generator: g);
        var t = torch.rand([4], generator: g) * 0.8 + 0.1;
        var conditions = model.Spec.LoadConditions();
        if (conditions is null)
        {
            Probe(model, x, t, null, "forward(x, t)", $"x [4, {string.Join(", ", shape)}] and t [4] — the module must take (x, t) and return one tensor");
            return;
        }
        using (conditions)
        {
            var cond = conditions.Rows(torch.arange(4) % conditions.Count);
            var signature = $"x [4, {string.Join(", ", shape)}], t [4] and cond [4{string.Concat(conditions.RowShape.Select(d => $", {d}"))}] ({cond.dtype})";
            Probe(model, x, t, cond, "forward(x, t, cond)", $"{signature} — a conditional module must take (x, t, cond) and return one tensor");
            if (conditions.Null is not null)
                Probe(model, x, t, model.NullCondition(cond), "forward(x, t, null)", $"x [4, {string.Join(", ", shape)}], t [4] and the file's '{ConditionsFile.NullKey}' row repeated 4 times");
        }
    }

    private static void Probe(TorchScriptVelocityModel model, Tensor x, Tensor t, Tensor? cond, string call, string inputs)
    {
        Tensor v;
        try { v = model.Forward(x, t, cond); }
        catch (Exception e) when (e is not InputException)
        {
            throw new InputException($"torchscript: {call} failed on {inputs} ({ModelDirectory.FirstLine(e.Message)})");
        }
        if (!v.shape.SequenceEqual(x.shape))
            throw new InputException($"torchscript: {call} returns shape [{string.Join(", ", v.shape)}], not the sample shape [{string.Join(", ", x.shape)}]");
        if (!v.isfinite().all().item<bool>())
            throw new InputException($"torchscript: {call} is not finite (NaN or Inf) on a test batch");
    }
}
