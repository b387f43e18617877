using System.Text.Json;
using PhasedDmd.Diffusion;

namespace PhasedDmd.IO;

/// <summary>
/// What a diffusers <c>scheduler_config.json</c> says about the schedule a model was trained on
/// (docs/import.md): the discrete VP schedulers (DDPM, DDIM, PNDM, Euler, DPM-Solver … with
/// <c>beta_schedule</c> linear, scaled_linear or squaredcos_cap_v2) and flow matching
/// (<c>FlowMatchEulerDiscreteScheduler</c> with <c>shift</c>).
/// </summary>
/// <param name="Schedule">The schedule's name in a model card (<see cref="NoiseSchedule.FromName"/>).</param>
/// <param name="Prediction">What the network predicts (<c>prediction_type</c>; flow matching predicts the velocity).</param>
/// <param name="TimeScale">num_train_timesteps: the network is fed σ·T (flow) or the training timestep (discrete VP).</param>
/// <param name="Shift">The timestep shift of flow matching (1 for discrete VP).</param>
/// <param name="Solver">The teacher's sampler: euler for flow matching, ddim for a discrete VP schedule.</param>
public sealed record SchedulerConfig(string Schedule, Prediction Prediction, double TimeScale, double Shift, string Solver)
{
    private static readonly string[] VpClasses =
    [
        "DDPMScheduler", "DDIMScheduler", "PNDMScheduler", "EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler",
        "LMSDiscreteScheduler", "HeunDiscreteScheduler", "DPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler",
        "DEISMultistepScheduler", "UniPCMultistepScheduler", "KDPM2DiscreteScheduler", "KDPM2AncestralDiscreteScheduler", "LCMScheduler", "TCDScheduler",
    ];
    private const string FlowClass = "FlowMatchEulerDiscreteScheduler";

    /// <summary>Keys that define the training schedule of a discrete VP scheduler.</summary>
    private static readonly string[] VpKeys = ["num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "prediction_type"];

    /// <summary>
    /// Keys that only steer a sampler's inference (its own step spacing, clipping, solver order, noise of ancestral
    /// steps); PhasedDmd uses its own samplers, whose grid starts at the last training timestep (trailing spacing).
    /// </summary>
    private static readonly string[] SamplerKeys =
    [
        "_class_name", "_diffusers_version", "timestep_spacing", "steps_offset", "set_alpha_to_one", "skip_prk_steps",
        "clip_sample", "clip_sample_range", "sample_max_value", "variance_type", "interpolation_type", "timestep_type",
        "final_sigmas_type", "solver_order", "algorithm_type", "solver_type", "lower_order_final", "euler_at_final",
        "use_lu_lambdas", "lambda_min_clipped", "predict_x0", "solver_p", "disable_corrector", "original_inference_steps",
        "rescale_betas_zero_snr_sampling", "sigma_min", "sigma_max", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
        "dynamic_thresholding_ratio", "timestep_scaling", "base_shift", "max_shift", "base_image_seq_len", "max_image_seq_len",
        "time_shift_type",
    ];

    /// <summary>Keys that would change the training schedule, accepted only at the value that leaves it as described.</summary>
    private static readonly Dictionary<string, string> MustBeOff = new()
    {
        ["trained_betas"] = "null", ["rescale_betas_zero_snr"] = "false", ["thresholding"] = "false",
        ["use_dynamic_shifting"] = "false", ["invert_sigmas"] = "false", ["shift_terminal"] = "null", ["stochastic_sampling"] = "false",
    };

    /// <summary>Reads a scheduler config; an unknown or unsupported key, or a bad value, is one input error naming it.</summary>
    public static SchedulerConfig Load(string path)
    {
        if (!File.Exists(path)) throw new InputException($"scheduler-config: file not found: {path}");
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { AllowTrailingCommas = true });
            root = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new InputException($"scheduler-config: {path} is not JSON ({e.Message})"); }
        if (root.ValueKind != JsonValueKind.Object) throw new InputException($"scheduler-config: {path} is not a JSON object");
        return Parse(root, path);
    }

    private static SchedulerConfig Parse(JsonElement root, string path)
    {
        var keys = root.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
        var className = keys.TryGetValue("_class_name", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : null;
        var flow = className == FlowClass;
        if (className is not null && !flow && !VpClasses.Contains(className))
            throw new InputException($"scheduler-config: {path}: _class_name '{className}' is not supported (discrete VP schedulers such as DDPMScheduler, or {FlowClass})");
        string[] known = [.. VpKeys, .. SamplerKeys, .. MustBeOff.Keys, "shift"];
        var unknown = keys.Keys.Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new InputException($"scheduler-config: {path}: unknown or unsupported key{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(k => $"'{k}'"))}");
        foreach (var (key, off) in MustBeOff)
            if (keys.TryGetValue(key, out var v) && v.ValueKind != JsonValueKind.Null && !(off == "false" && v.ValueKind == JsonValueKind.False))
                throw new InputException($"scheduler-config: {path}: {key} = {v.GetRawText()} is not supported (only {off})");

        var timesteps = keys.TryGetValue("num_train_timesteps", out var n) ? Integer(n, "num_train_timesteps", path) : 1000;
        if (flow)
        {
            if (keys.ContainsKey("beta_schedule") || keys.ContainsKey("prediction_type"))
                throw new InputException($"scheduler-config: {path}: {FlowClass} has no beta_schedule or prediction_type (it predicts the velocity)");
            var shift = keys.TryGetValue("shift", out var s) ? Number(s, "shift", path) : 1.0;
            if (!(shift > 0)) throw new InputException($"scheduler-config: {path}: shift must be > 0 (got {shift})");
            return new SchedulerConfig("flow", Prediction.Velocity, timesteps, shift, "euler");
        }
        if (keys.ContainsKey("shift")) throw new InputException($"scheduler-config: {path}: 'shift' belongs to {FlowClass}, not to a discrete VP scheduler");
        var betaSchedule = keys.TryGetValue("beta_schedule", out var b) ? Text(b, "beta_schedule", path) : "linear";
        var betaStart = keys.TryGetValue("beta_start", out var bs) ? Number(bs, "beta_start", path) : 0.0001;
        var betaEnd = keys.TryGetValue("beta_end", out var be) ? Number(be, "beta_end", path) : 0.02;
        var predictionType = keys.TryGetValue("prediction_type", out var p) ? Text(p, "prediction_type", path) : "epsilon";
        var prediction = predictionType switch
        {
            "epsilon" => Prediction.Epsilon,
            "sample" => Prediction.X0,
            "v_prediction" => Prediction.VPrediction,
            _ => throw new InputException($"scheduler-config: {path}: prediction_type '{predictionType}' is not supported (epsilon, sample or v_prediction)"),
        };
        DiscreteVpSchedule schedule;
        try { schedule = DiscreteVpSchedule.Of(betaSchedule, betaStart, betaEnd, timesteps); }
        catch (InputException e) { throw new InputException($"scheduler-config: {path}: {e.Message}"); }
        return new SchedulerConfig(schedule.Name, prediction, timesteps, 1.0, "ddim");
    }

    private static double Number(JsonElement e, string key, string path)
        => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw new InputException($"scheduler-config: {path}: {key} must be a number (got {e.GetRawText()})");

    private static int Integer(JsonElement e, string key, string path)
        => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : throw new InputException($"scheduler-config: {path}: {key} must be an integer (got {e.GetRawText()})");

    private static string Text(JsonElement e, string key, string path)
        => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new InputException($"scheduler-config: {path}: {key} must be a string (got {e.GetRawText()})");
}
