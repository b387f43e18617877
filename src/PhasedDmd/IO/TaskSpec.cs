using PhasedDmd.Data;

namespace PhasedDmd.IO;

/// <summary>What a model was trained on. Analytic tasks carry their exact mixture.</summary>
public sealed record TaskSpec(string Name, GaussianMixture? Mixture = null);
