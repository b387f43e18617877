using static TorchSharp.torch;

namespace PhasedDmd.Data;

/// <summary>
/// A text-conditioned procedural task (the miniature text-to-image / text-to-video data).
/// Everything is drawn from a libtorch generator, so a seeded run (and a resumed one) sees the
/// same data. Prompts name some attributes and leave others free.
/// </summary>
public interface IProceduralTask
{
    string Name { get; }
    /// <summary>Shape of one sample: [C, H, W] for images, [F, C, H, W] for videos.</summary>
    long[] SampleShape { get; }
    PromptVocabulary Vocabulary { get; }
    /// <summary>The fixed held-out prompts of the evaluation protocol.</summary>
    IReadOnlyList<string> EvaluationPrompts { get; }
    /// <summary>Seeds per prompt of the evaluation grid (the default of <c>eval</c> and <c>compare</c>).</summary>
    int EvaluationSeeds { get; }
    /// <summary>
    /// Whether the prompts of an evaluation seed row share one noise (a row then shows how one noise
    /// renders each prompt). A task whose prompts leave an attribute free that follows the noise (whether
    /// a clip moves, and which way) gives every cell its own noise instead: with shared rows its shares
    /// would rest on only as many independent draws as there are seeds.
    /// </summary>
    bool SharesNoiseAcrossPrompts { get; }
    /// <summary>Draws n examples (pixels and prompt ids); used to train teachers.</summary>
    (Tensor Pixels, Tensor Prompts) SampleTraining(int n, Generator generator);
    /// <summary>Draws n prompts from the task's prompt distribution (token ids [n, L]); used by distillation.</summary>
    Tensor SamplePrompts(int n, Generator generator);
}
