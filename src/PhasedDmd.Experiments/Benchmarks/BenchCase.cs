using PhasedDmd.Distillation;

namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>One distillation configuration of the memory/time table.</summary>
public sealed record BenchCase(string Name, string Method, int Steps, int Phases,
                               IntervalKind Interval = IntervalKind.ReverseNested, string FakeObjective = "subinterval")
{
    /// <summary>This case's method, steps, phases and ablation settings on a base config.</summary>
    public DistillConfig Config(DistillConfig baseConfig)
        => DistillationMethod.Find(Method).Shape(baseConfig, Steps, Phases) with { Interval = Interval, FakeObjective = FakeObjective };

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
        new("phased-K2-naive", "phased", 4, 2, FakeObjective: "naive"),
        new("phased-K2-disjoint", "phased", 4, 2, Interval: IntervalKind.Disjoint),
    ];

    public static BenchCase Find(string name) => Standard.FirstOrDefault(c => c.Name == name)
        ?? throw new InputException($"--case: unknown case '{name}' (expected {string.Join(", ", Standard.Select(c => c.Name))})");
}
