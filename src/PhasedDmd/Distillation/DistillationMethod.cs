namespace PhasedDmd.Distillation;

/// <summary>
/// What a distillation method is, in the one place that says it (method.md §2–§4). The four
/// methods are settings of one algorithm and differ only where the paper says they differ:
/// how many steps the student may have, whether it may have several phases (experts), and how
/// the rollout records gradient.
/// </summary>
/// <param name="Name">The name used in configs and on the command line.</param>
/// <param name="FixedSteps">The only step count the method allows (one-step DMD), or null for any N.</param>
/// <param name="MultiPhase">Whether the student may have K &gt; 1 phases (only Phased DMD).</param>
/// <param name="Truncation">The default gradient truncation of the rollout.</param>
/// <param name="Summary">One line for help texts and reports.</param>
public sealed record DistillationMethod(string Name, int? FixedSteps, bool MultiPhase, Truncation Truncation, string Summary)
{
    /// <summary>One-step DMD (Yin et al., 2024): N = 1, one expert.</summary>
    public static readonly DistillationMethod Dmd = new("dmd", 1, false, Truncation.Full, "one-step DMD");
    /// <summary>Vanilla few-step DMD: N steps, one expert, backpropagation through every step.</summary>
    public static readonly DistillationMethod FewStep = new("fewstep", null, false, Truncation.Full, "few-step DMD, backprop through all steps");
    /// <summary>Few-step DMD with stochastic gradient truncation (DMD2): N steps, one expert, one gradient step.</summary>
    public static readonly DistillationMethod Sgts = new("sgts", null, false, Truncation.Sgts, "few-step DMD with stochastic gradient truncation");
    /// <summary>Phased DMD: N steps in K phases, one expert and one subinterval fake score per phase, SGTS inside each phase.</summary>
    public static readonly DistillationMethod Phased = new("phased", null, true, Truncation.Sgts, "Phased DMD");

    public static readonly IReadOnlyList<DistillationMethod> All = [Dmd, FewStep, Sgts, Phased];

    /// <summary>The method of that name; an <see cref="InputException"/> naming the config key otherwise.</summary>
    public static DistillationMethod Find(string name)
        => All.FirstOrDefault(m => m.Name == name)
           ?? throw new InputException($"method: unknown method '{name}' (expected {string.Join(", ", All.Select(m => m.Name))})");

    /// <summary>
    /// The method's own shape on a base config: its fixed step count, and one phase for the
    /// single-expert methods. Steps and phases the method leaves free are kept from <paramref name="config"/>.
    /// </summary>
    public DistillConfig Shape(DistillConfig config, int? steps = null, int? phases = null) => config with
    {
        Method = Name,
        Steps = FixedSteps ?? steps ?? config.Steps,
        Phases = MultiPhase ? phases ?? config.Phases : 1,
        Boundaries = MultiPhase ? config.Boundaries : [],
    };

    /// <summary>
    /// The method's shape (<see cref="Shape"/>) with <paramref name="updates"/> generator updates in all, split evenly
    /// over its phases: the one rule by which every comparison gives each method the same budget (one-step and
    /// single-expert methods n updates, two phases n/2 each, four phases n/4 each).
    /// </summary>
    public DistillConfig AtBudget(DistillConfig config, int updates, int? steps = null, int? phases = null)
    {
        var shaped = Shape(config, steps, phases);
        return shaped with { IterationsPerPhase = Math.Max(1, updates / shaped.Phases) };
    }

    public override string ToString() => Name;
}
