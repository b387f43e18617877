using PhasedDmd.Diffusion;
using PhasedDmd.IO;
using Xunit;

namespace PhasedDmd.Tests.Diffusion;

/// <summary>
/// Stable Diffusion's discrete schedule, continuous in t (method.md §1.1), against diffusers' definitions written out
/// here: ᾱ_j = Π_{i≤j} (1 − β_i) with the betas of each beta_schedule; and the reading of scheduler_config.json.
/// </summary>
public class DiscreteVpScheduleTests
{
    private static double[] DiffusersAlphaBar(Func<int, double> beta, int n)
    {
        var bar = new double[n];
        var product = 1.0;
        for (var j = 0; j < n; j++) bar[j] = product *= 1 - beta(j);
        return bar;
    }

    public static TheoryData<string, double, double> Schedules => new()
    {
        { "scaled_linear", 0.00085, 0.012 },
        { "linear", 0.0001, 0.02 },
        { "squaredcos_cap_v2", 0.0001, 0.02 },
    };

    [Theory]
    [MemberData(nameof(Schedules))]
    public void Timestep_j_is_t_equal_j_plus_one_over_T_with_diffusers_alpha_bar(string kind, double start, double end)
    {
        const int n = 1000;
        Func<int, double> beta = kind switch
        {
            "linear" => j => start + (end - start) * j / (n - 1.0),
            "scaled_linear" => j => Math.Pow(Math.Sqrt(start) + (Math.Sqrt(end) - Math.Sqrt(start)) * j / (n - 1.0), 2),
            _ => j => Math.Min(1 - F((j + 1.0) / n) / F((double)j / n), 0.999),
        };
        static double F(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
        var bar = DiffusersAlphaBar(beta, n);
        var s = DiscreteVpSchedule.Of(kind, start, end, n);
        foreach (var j in new[] { 0, 1, 250, 499, 998, 999 })
        {
            var t = (j + 1.0) / n;
            Assert.Equal(bar[j], s.Alpha(t) * s.Alpha(t), 12);
            Assert.Equal(1 - bar[j], s.Sigma(t) * s.Sigma(t), 12);
            using var tt = TorchSharp.torch.tensor(new[] { t });
            Assert.Equal(j, TorchSharp.torch.round(s.NetworkTime(tt, n)).item<double>(), 9);
        }
        Assert.Equal(1.0, s.Alpha(0.0), 15);
        Assert.Equal(0.0, s.Sigma(0.0), 15);
        Assert.True(s.Alpha(1.0) > 0, "the last training timestep keeps some signal");
        if (kind == "scaled_linear") Assert.Equal(0.0047, bar[^1], 4);   // Stable Diffusion's ᾱ_999
    }

    [Fact]
    public void Derivatives_are_those_of_alpha_and_sigma_inside_a_step_and_tensors_agree_with_doubles()
    {
        var s = DiscreteVpSchedule.Of("scaled_linear", 0.00085, 0.012, 1000);
        foreach (var t in new[] { 0.0123, 0.3337, 0.7771, 0.9994 })
        {
            const double h = 1e-7;   // well inside one step (width 1e-3)
            Assert.Equal((s.Alpha(t + h) - s.Alpha(t - h)) / (2 * h), s.AlphaDerivative(t), 5);
            Assert.Equal((s.Sigma(t + h) - s.Sigma(t - h)) / (2 * h), s.SigmaDerivative(t), 4);
            using var tt = TorchSharp.torch.tensor(new[] { t }, dtype: TorchSharp.torch.ScalarType.Float64);
            Assert.Equal(s.Alpha(t), s.Alpha(tt).item<double>(), 12);
            Assert.Equal(s.Sigma(t), s.Sigma(tt).item<double>(), 12);
            Assert.Equal(s.AlphaDerivative(t), s.AlphaDerivative(tt).item<double>(), 9);
            Assert.Equal(s.SigmaDerivative(t), s.SigmaDerivative(tt).item<double>(), 9);
        }
        Assert.Same(s, NoiseSchedule.FromName(s.Name));   // the name in a model card round-trips
    }

    private static string Write(string json)
    {
        var path = Path.Combine(TestUtil.TempDir(), "scheduler_config.json");
        File.WriteAllText(path, json);
        return path;
    }

    private const string Sd = """
        {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012, "beta_schedule": "scaled_linear",
         "beta_start": 0.00085, "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true,
         "steps_offset": 1, "trained_betas": null, "clip_sample": false}
        """;

    [Fact]
    public void A_stable_diffusion_config_is_an_epsilon_model_on_its_discrete_schedule_sampled_by_ddim()
    {
        var c = SchedulerConfig.Load(Write(Sd));
        Assert.Equal(Prediction.Epsilon, c.Prediction);
        Assert.Equal("ddim", c.Solver);
        Assert.Equal(1000, c.TimeScale);
        Assert.Same(DiscreteVpSchedule.Of("scaled_linear", 0.00085, 0.012, 1000), NoiseSchedule.FromName(c.Schedule));
        Assert.Equal(Prediction.VPrediction, SchedulerConfig.Load(Write(Sd.Replace("\"trained_betas\"", "\"prediction_type\": \"v_prediction\", \"trained_betas\""))).Prediction);
        Assert.Equal(Prediction.X0, SchedulerConfig.Load(Write(Sd.Replace("\"trained_betas\"", "\"prediction_type\": \"sample\", \"trained_betas\""))).Prediction);
    }

    [Fact]
    public void A_flow_matching_config_is_a_velocity_model_fed_sigma_times_T_with_its_shift()
    {
        var c = SchedulerConfig.Load(Write("""
            {"_class_name": "FlowMatchEulerDiscreteScheduler", "_diffusers_version": "0.29.0", "num_train_timesteps": 1000, "shift": 3.0,
             "use_dynamic_shifting": false, "base_shift": 0.5, "max_shift": 1.15, "base_image_seq_len": 256, "max_image_seq_len": 4096}
            """));
        Assert.Equal(("flow", Prediction.Velocity, 1000.0, 3.0, "euler"), (c.Schedule, c.Prediction, c.TimeScale, c.Shift, c.Solver));
    }

    [Theory]
    [InlineData("\"clip_sample\": false", "\"clip_sample\": false, \"karras\": 1, \"foo\": 2", "unknown or unsupported keys 'karras', 'foo'")]
    [InlineData("\"trained_betas\": null", "\"trained_betas\": [0.1, 0.2]", "trained_betas = [0.1, 0.2] is not supported")]
    [InlineData("\"trained_betas\": null", "\"rescale_betas_zero_snr\": true", "rescale_betas_zero_snr = true is not supported")]
    [InlineData("\"scaled_linear\"", "\"sigmoid\"", "beta_schedule: expected linear, scaled_linear, squaredcos_cap_v2 (got 'sigmoid')")]
    [InlineData("\"PNDMScheduler\"", "\"ScoreSdeVeScheduler\"", "_class_name 'ScoreSdeVeScheduler' is not supported")]
    [InlineData("\"trained_betas\": null", "\"prediction_type\": \"flow\"", "prediction_type 'flow' is not supported")]
    public void A_config_it_cannot_honour_is_one_error_naming_the_key(string from, string to, string message)
    {
        var e = Assert.Throws<InputException>(() => SchedulerConfig.Load(Write(Sd.Replace(from, to))));
        Assert.Contains(message, e.Message);
        Assert.StartsWith("scheduler-config: ", e.Message);
    }
}
