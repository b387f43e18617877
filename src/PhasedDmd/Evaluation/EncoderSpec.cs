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

    /// <summary>The tasks a feature encoder can be trained for (<see cref="ForTask"/>).</summary>
    public static readonly string[] Tasks = ["glyphs", "motion"];

    /// <summary>The attributes each task's encoder is trained to predict: everything the sample's truth records.</summary>
    public static EncoderSpec ForTask(string task) => task switch
    {
        // the scale head only when the task draws several scales (it has one: GlyphsTask.Scales)
        "glyphs" => new EncoderSpec("glyphs", 3,
            [BitmapFont.Characters.Count, GlyphsTask.Colours.Count, GlyphsTask.Colours.Count, .. GlyphsTask.Scales.Length > 1 ? [GlyphsTask.Scales.Length] : Array.Empty<int>()],
            ["character", "foreground", "background", .. GlyphsTask.Scales.Length > 1 ? ["scale"] : Array.Empty<string>()],
            ["centreX", "centreY"], ImageSize: GlyphsTask.Size),
        "motion" => new EncoderSpec("motion", MotionTask.Frames, [MotionTask.Shapes.Length, MotionTask.Directions.Length],
            ["shape", "direction"], ["speed", "centreX", "centreY"], ImageSize: MotionTask.Size),
        _ => throw new InputException($"task: encoders exist for glyphs and motion (got '{task}')"),
    };
}
