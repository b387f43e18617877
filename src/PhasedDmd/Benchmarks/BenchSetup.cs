using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Benchmarks;

/// <summary>The networks the benchmark measures: the analytic tasks' MLP and the miniature DiT of glyphs.</summary>
public enum BenchModel { Mlp, Dit }

/// <summary>One distillation configuration of the memory/time table.</summary>
public sealed record BenchCase(string Name, string Method, int Steps, int Phases,
                               IntervalKind Interval = IntervalKind.Nested, FakeObjective FakeObjective = FakeObjective.Subinterval)
{
    /// <summary>
    /// One-step DMD, vanilla few-step DMD with N = 2, 4, 8, SGTS (N = 4), Phased DMD with 2 and 4
    /// phases (N = 4), and the two ablations of the method comparison (naive fake objective,
    /// disjoint intervals; 2 phases).
    /// </summary>
    public static readonly IReadOnlyList<BenchCase> Standard =
    [
        new("dmd", "dmd", 1, 1),
        new("fewstep-N2", "fewstep", 2, 1),
        new("fewstep-N4", "fewstep", 4, 1),
        new("fewstep-N8", "fewstep", 8, 1),
        new("sgts-N4", "sgts", 4, 1),
        new("phased-K2", "phased", 4, 2),
        new("phased-K4", "phased", 4, 4),
        new("phased-K2-naive", "phased", 4, 2, FakeObjective: FakeObjective.Naive),
        new("phased-K2-disjoint", "phased", 4, 2, Interval: IntervalKind.Disjoint),
    ];

    public static BenchCase Find(string name) => Standard.FirstOrDefault(c => c.Name == name)
        ?? throw new InputException($"--case: unknown case '{name}' (expected {string.Join(", ", Standard.Select(c => c.Name))})");
}

/// <summary>
/// Teachers for benchmarks: a freshly initialised network of the default size (time and memory do
/// not depend on the weights' values; a trained teacher can be passed instead), with the card
/// the distiller needs.
/// </summary>
public static class BenchSetup
{
    public static BenchModel ParseModel(string name) => name.ToLowerInvariant() switch
    {
        "mlp" => BenchModel.Mlp,
        "dit" => BenchModel.Dit,
        _ => throw new InputException($"--model: unknown benchmark model '{name}' (expected mlp or dit)"),
    };

    public static string Name(BenchModel model) => model == BenchModel.Mlp ? "mlp" : "dit";

    /// <summary>The MLP of ring8 or the DiT of glyphs, initialised from <paramref name="seed"/>.</summary>
    public static (ModelCard Card, VelocityModel Teacher) Teacher(BenchModel model, int seed)
    {
        torch.manual_seed(seed);
        var config = TeacherConfig.ForTask(model == BenchModel.Mlp ? "ring8" : "glyphs");
        var mixture = config.ResolveMixture();
        var spec = config.BuildSpec(mixture);
        var network = spec.Build();
        if (network is DitVelocityModel)
            using (torch.no_grad())
                foreach (var p in network.parameters())
                    if (p.abs().max().item<float>() == 0) p.normal_(0, 0.02);   // adaLN-Zero starts at exactly zero; make every path carry signal
        var card = new ModelCard
        {
            Role = "teacher",
            Task = new TaskSpec(config.Task, mixture),
            Network = spec,
            Sampling = new SamplingDefaults(config.SampleSteps, config.SampleSolver, network.IsConditional ? config.SampleCfg : 1.0),
        };
        return (card, network);
    }

    /// <summary>Batch and fake updates per generator update: the distillation defaults of that model.</summary>
    public static (int Batch, int FakeUpdates) Defaults(BenchModel model)
        => model == BenchModel.Mlp ? (512, 5) : (32, 2);
}
