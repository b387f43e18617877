using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using PhasedDmd.Diffusion;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Data;

/// <summary>
/// An isotropic Gaussian mixture p_0 = Σ_k w_k N(μ_k, s_k² I): the project's ground truth.
/// Under any schedule its noised marginal is again a mixture, component k being
/// N(α_t μ_k, (α_t² s_k² + σ_t²) I), so density, score, posterior mean and velocity
/// are all closed-form. Exact computations run in float64.
/// </summary>
public sealed class GaussianMixture
{
    public double[][] Means { get; }
    public double[] Stds { get; }
    public double[] Weights { get; }
    [JsonIgnore] public int Dim => Means[0].Length;
    [JsonIgnore] public int Count => Means.Length;

    [JsonConstructor]
    public GaussianMixture(double[][] means, double[] stds, double[] weights)
    {
        if (means.Length == 0) throw new InputException("mixture: 'means' is empty");
        if (stds.Length != means.Length)
            throw new InputException($"mixture: 'stds' has {stds.Length} entries but 'means' has {means.Length}");
        if (weights.Length != means.Length)
            throw new InputException($"mixture: 'weights' has {weights.Length} entries but 'means' has {means.Length}");
        var d = means[0].Length;
        if (d == 0) throw new InputException("mixture: means must have at least one coordinate");
        for (var k = 0; k < means.Length; k++)
        {
            if (means[k].Length != d)
                throw new InputException($"mixture: means[{k}] has {means[k].Length} coordinates, expected {d}");
            if (means[k].Any(v => !double.IsFinite(v)))
                throw new InputException($"mixture: means[{k}] is not finite");
            if (!(stds[k] > 0) || !double.IsFinite(stds[k]))
                throw new InputException($"mixture: stds[{k}] = {stds[k]} must be a positive finite number");
            if (!(weights[k] >= 0) || !double.IsFinite(weights[k]))
                throw new InputException($"mixture: weights[{k}] = {weights[k]} must be a non-negative finite number");
        }
        var total = weights.Sum();
        if (!(total > 0)) throw new InputException("mixture: weights must sum to a positive number");
        Means = means.Select(m => (double[])m.Clone()).ToArray();
        Stds = (double[])stds.Clone();
        Weights = weights.Select(w => w / total).ToArray();
    }

    // ---------------------------------------------------------------- JSON

    /// <summary>Parses <c>{"means": [[x, y], ...], "stds": [...], "weights": [...]}</c>; 1D means may be numbers.</summary>
    public static GaussianMixture FromJson(string json)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new InputException($"mixture: malformed JSON ({e.Message})"); }
        if (root is not JsonObject obj) throw new InputException("mixture: the JSON must be an object with means, stds and weights");
        if (obj.Select(kv => kv.Key).FirstOrDefault(k => k is not ("means" or "stds" or "weights")) is { } unknown)
            throw new InputException($"mixture: unknown key '{unknown}' (expected means, stds and weights)");
        double Num(JsonNode? n, string where)
        {
            if (n is JsonValue v && v.TryGetValue<double>(out var d)) return d;
            throw new InputException($"mixture: {where} must be a number");
        }
        JsonArray Arr(string key) => obj[key] as JsonArray
            ?? throw new InputException($"mixture: '{key}' must be an array");
        var means = Arr("means").Select((m, i) => m is JsonArray a
            ? a.Select((c, j) => Num(c, $"means[{i}][{j}]")).ToArray()
            : new[] { Num(m, $"means[{i}]") }).ToArray();
        var stds = Arr("stds").Select((s, i) => Num(s, $"stds[{i}]")).ToArray();
        var weights = Arr("weights").Select((w, i) => Num(w, $"weights[{i}]")).ToArray();
        return new GaussianMixture(means, stds, weights);
    }

    public static GaussianMixture Load(string path)
    {
        if (!File.Exists(path)) throw new InputException($"mixture file not found: {path}");
        return FromJson(File.ReadAllText(path));
    }

    public string ToJson()
    {
        var o = new JsonObject
        {
            ["means"] = new JsonArray(Means.Select(m => (JsonNode)new JsonArray(m.Select(v => (JsonNode)v).ToArray())).ToArray()),
            ["stds"] = new JsonArray(Stds.Select(v => (JsonNode)v).ToArray()),
            ["weights"] = new JsonArray(Weights.Select(v => (JsonNode)v).ToArray()),
        };
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    // ---------------------------------------------------------------- tensors

    public Tensor MeansTensor(ScalarType dtype = ScalarType.Float64)
        => torch.tensor(Means.SelectMany(m => m).ToArray(), dtype: ScalarType.Float64).reshape(Count, Dim).to(dtype);
    public Tensor StdsTensor() => torch.tensor(Stds, dtype: ScalarType.Float64);
    public Tensor WeightsTensor() => torch.tensor(Weights, dtype: ScalarType.Float64);

    /// <summary>Draws n samples; returns points [n, D] (float32) and component labels [n].</summary>
    public (Tensor Samples, Tensor Labels) Sample(long n, Generator? generator = null)
    {
        using var scope = torch.NewDisposeScope();
        var labels = torch.multinomial(WeightsTensor(), n, replacement: true, generator: generator);
        var mu = MeansTensor().index_select(0, labels);
        var sd = StdsTensor().index_select(0, labels).unsqueeze(1);
        var x = mu + sd * torch.randn(n, Dim, dtype: ScalarType.Float64, generator: generator);
        return (x.to(ScalarType.Float32).MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }

    /// <summary>Per-component log terms log w_k + log N(x; α μ_k, v_k I) and the variances v_k = α² s_k² + σ².</summary>
    private (Tensor LogTerms, Tensor Var, Tensor Diff) Components(Tensor x, double alpha, double sigma)
    {
        var x64 = x.to(ScalarType.Float64);
        var mu = MeansTensor() * alpha;                                       // [K, D]
        var v = StdsTensor().square() * (alpha * alpha) + sigma * sigma;      // [K]
        var diff = x64.unsqueeze(1) - mu.unsqueeze(0);                        // [B, K, D]
        var sq = diff.square().sum(-1);                                       // [B, K]
        var logTerms = WeightsTensor().log().unsqueeze(0)
                       - 0.5 * Dim * (2 * Math.PI * v).log().unsqueeze(0)
                       - sq / (2 * v.unsqueeze(0));
        return (logTerms, v, diff);
    }

    /// <summary>Exact log density of the noised marginal p_t at x (float64, [B]).</summary>
    public Tensor LogDensity(Tensor x, double t, NoiseSchedule? schedule = null)
    {
        schedule ??= FlowMatchingSchedule.Instance;
        using var scope = torch.NewDisposeScope();
        var (logTerms, _, _) = Components(x, schedule.Alpha(t), schedule.Sigma(t));
        return logTerms.logsumexp(1).MoveToOuterDisposeScope();
    }

    /// <summary>Exact score ∇ log p_t(x) = Σ_k r_k (α μ_k − x) / v_k (float64, [B, D]).</summary>
    public Tensor Score(Tensor x, double t, NoiseSchedule? schedule = null)
    {
        schedule ??= FlowMatchingSchedule.Instance;
        using var scope = torch.NewDisposeScope();
        var (logTerms, v, diff) = Components(x, schedule.Alpha(t), schedule.Sigma(t));
        var r = logTerms.softmax(1);
        var s = -(r.unsqueeze(2) * diff / v.reshape(1, -1, 1)).sum(1);
        return s.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Exact posterior means E[x_0 | x_t] and E[ε | x_t] (float64, [B, D] each).
    /// Component k: E[x_0|x_t,k] = μ_k + (α s_k² / v_k)(x − α μ_k), E[ε|x_t,k] = σ (x − α μ_k) / v_k
    /// (well defined at σ = 0).
    /// </summary>
    public (Tensor X0, Tensor Epsilon) PosteriorMeans(Tensor x, double t, NoiseSchedule? schedule = null)
    {
        schedule ??= FlowMatchingSchedule.Instance;
        using var scope = torch.NewDisposeScope();
        double a = schedule.Alpha(t), sg = schedule.Sigma(t);
        var (logTerms, v, diff) = Components(x, a, sg);
        var r = logTerms.softmax(1).unsqueeze(2);                             // [B, K, 1]
        var vk = v.reshape(1, -1, 1);
        var s2 = StdsTensor().square().reshape(1, -1, 1);
        var x0k = MeansTensor().unsqueeze(0) + (a * s2 / vk) * diff;
        var epsk = sg * diff / vk;
        var x0 = (r * x0k).sum(1);
        var eps = (r * epsk).sum(1);
        return (x0.MoveToOuterDisposeScope(), eps.MoveToOuterDisposeScope());
    }

    /// <summary>Exact probability-flow velocity E[α' x_0 + σ' ε | x_t] (float64, [B, D]).</summary>
    public Tensor Velocity(Tensor x, double t, NoiseSchedule? schedule = null)
    {
        schedule ??= FlowMatchingSchedule.Instance;
        var (x0, eps) = PosteriorMeans(x, t, schedule);
        using (x0)
        using (eps)
            return schedule.AlphaDerivative(t) * x0 + schedule.SigmaDerivative(t) * eps;
    }

    /// <summary>
    /// Exact probability-flow ODE trajectories: classical RK4 on the closed-form velocity in
    /// float64 with <paramref name="substeps"/> steps between consecutive requested times.
    /// Returns the states at each of <paramref name="times"/> (times[0] is the start; [T, B, D]).
    /// </summary>
    public Tensor OdeTrajectory(Tensor start, IReadOnlyList<double> times, NoiseSchedule? schedule = null, int substeps = 20)
    {
        schedule ??= FlowMatchingSchedule.Instance;
        var states = new List<Tensor>();
        using var outer = torch.NewDisposeScope();
        var x = start.to(ScalarType.Float64).clone();
        states.Add(x.clone());
        for (var i = 1; i < times.Count; i++)
        {
            double t0 = times[i - 1], t1 = times[i];
            var h = (t1 - t0) / substeps;
            for (var j = 0; j < substeps; j++)
            {
                using var scope = torch.NewDisposeScope();
                var t = t0 + j * h;
                var k1 = Velocity(x, t, schedule);
                var k2 = Velocity(x + 0.5 * h * k1, t + 0.5 * h, schedule);
                var k3 = Velocity(x + 0.5 * h * k2, t + 0.5 * h, schedule);
                var k4 = Velocity(x + h * k3, t + h, schedule);
                var next = x + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4);
                x = next.MoveToOuterDisposeScope();
            }
            states.Add(x.clone());
        }
        return torch.stack(states).MoveToOuterDisposeScope();
    }
}
