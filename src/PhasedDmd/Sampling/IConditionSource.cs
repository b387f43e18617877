using PhasedDmd.Data;
using PhasedDmd.IO;
using static TorchSharp.torch;

namespace PhasedDmd.Sampling;

/// <summary>
/// Where the conditions c of a conditional model come from, shared by distillation (the student
/// is trained on conditions drawn from it) and sampling. Draws are on the CPU from the given
/// generator, so seeded runs see the same conditions.
/// </summary>
public interface IConditionSource
{
    /// <summary>n conditions, shape [n, …], drawn from <paramref name="generator"/>.</summary>
    Tensor Sample(int n, Generator generator);

    /// <summary>
    /// The condition source of a model's task: the prompt distribution of a procedural task (whose
    /// DiT is always text-conditioned), mixture components by their weights for a class-conditional
    /// model of a mixture, the rows of its conditions file for an imported conditional teacher, and null
    /// for an unconditional one.
    /// </summary>
    static IConditionSource? For(ModelCard card, bool conditional)
    {
        if (ProceduralTasks.IsProcedural(card.Task.Name)) return new TaskPrompts(ProceduralTasks.Resolve(card.Task.Name));
        if (!conditional) return null;
        if (card.Network is Models.TorchScriptSpec { Conditions: not null } ts) return new FileConditions(ts.LoadConditions()!);
        if (card.Task.Mixture is { } mixture) return new MixtureComponents(mixture);
        throw new InputException($"task: '{card.Task.Name}' is conditional but has no condition source");
    }
}
