using static TorchSharp.torch;

namespace PhasedDmd.Data;

/// <summary>A batch of procedural training data: pixels in [−1, 1], prompt token ids, and the true attributes.</summary>
public sealed record ProceduralBatch<TAttributes>(Tensor Pixels, Tensor Prompts, IReadOnlyList<TAttributes> Attributes, IReadOnlyList<string> PromptTexts);
