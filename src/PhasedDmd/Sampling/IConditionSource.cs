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
    /// The condition source of a model: the prompt distribution of a text-conditioned task (whose DiT is always
    /// text-conditioned), the rows of the network's conditions file (an imported conditional module's), mixture
    /// components by their weights for a class-conditional model of a mixture, and null for an unconditional one.
    /// </summary>
    static IConditionSource? For(ModelCard card, bool conditional)
    {
        if (TaskRegistry.TryFind(card.Task.Name)?.Procedural is { } prompts) return new TaskPrompts(prompts);
        if (!conditional) return null;
        if (card.Network.LoadConditions() is { } file) return new FileConditions(file);
        if (card.Task.Mixture is { } mixture) return new MixtureComponents(mixture);
        throw new InputException($"task: '{card.Task.Name}' is conditional but has no condition source");
    }
}
