using PhasedDmd.Data;
using static TorchSharp.torch;

namespace PhasedDmd.Sampling;

/// <summary>Prompts of a procedural text-to-image / text-to-video task, drawn from its prompt distribution (token ids [n, L]).</summary>
public sealed class TaskPrompts(IProceduralTask task) : IConditionSource
{
    public Tensor Sample(int n, Generator generator) => task.SamplePrompts(n, generator);
}
