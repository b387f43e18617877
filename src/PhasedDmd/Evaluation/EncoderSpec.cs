using PhasedDmd.Data;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Shape of a <see cref="FeatureEncoder"/>: the task it reads, its input channels (glyphs: RGB;
/// motion: the 8 frames stacked as channels), the categorical attributes it predicts (number of
/// classes each) and how many continuous ones.
/// </summary>
public sealed record EncoderSpec(string Task, int InChannels, int[] Categories, string[] CategoryNames, string[] RegressionNames,
                                 int Width = 32, int Embedding = 128, int ImageSize = 16)
{
    /// <summary>Side of the last stage after two stride-2, padding-1, 3×3 convolutions.</summary>
    public int LastStageSize => ((ImageSize + 1) / 2 + 1) / 2;

    public int Regressions => RegressionNames.Length;

    /// <summary>The tasks a feature encoder can be trained for: those that give one (<see cref="IEncoderTask.Encoder"/>).</summary>
    public static IReadOnlyList<IEncoderTask> Tasks => [.. TaskRegistry.All.OfType<IEncoderTask>().Where(t => t.Encoder is not null)];

    /// <summary>The encoder of a task: trained to predict everything the sample's truth records.</summary>
    public static EncoderSpec ForTask(string task)
        => (TaskRegistry.TryFind(task) as IEncoderTask)?.Encoder
           ?? throw new InputException($"task: encoders exist for {string.Join(", ", Tasks.Select(t => t.Name))} (got '{task}')");

    /// <summary>The task whose samples this encoder reads.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IEncoderTask Definition => TaskRegistry.Find<IEncoderTask>(Task, "feature encoder");
}
