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
    /// <summary>Draws n examples (pixels and prompt ids); used to train teachers.</summary>
    (Tensor Pixels, Tensor Prompts) SampleTraining(int n, Generator generator);
    /// <summary>Draws n prompts from the task's prompt distribution (token ids [n, L]); used by distillation.</summary>
    Tensor SamplePrompts(int n, Generator generator);
}
