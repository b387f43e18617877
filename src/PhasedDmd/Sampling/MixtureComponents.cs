using PhasedDmd.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Sampling;

/// <summary>Class labels of a class-conditional mixture model: component indices drawn with the mixture's weights.</summary>
public sealed class MixtureComponents(GaussianMixture mixture) : IConditionSource
{
    public Tensor Sample(int n, Generator generator)
    {
        using var weights = mixture.WeightsTensor();
        return torch.multinomial(weights, n, replacement: true, generator: generator);
    }
}
