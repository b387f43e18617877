using System.Text.Json.Nodes;
using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Tasks;

/// <summary>
/// <c>glyphs</c>, miniature text-to-image (<see cref="GlyphsTask"/>): measured by reading the character and colours
/// back (<see cref="GlyphMetrics"/>), with a feature encoder trained on every attribute the image records.
/// </summary>
public sealed class GlyphsDefinition : PromptGridTask
{
    public override IProceduralTask Data { get; } = new GlyphsTask();
    public override string Summary => "miniature text-to-image: a coloured character on a coloured background, placed freely (16×16 RGB)";

    /// <summary>A DiT sized (by measurement) to train in about 19 minutes on 2 CPU cores.</summary>
    public override TeacherConfig TeacherDefaults() => new()
    {
        // lr 2e-3 and 7000 updates by measurement: at 4000 updates character accuracy was 0.57, at 7000 0.96 (README, "How the glyphs recipe was found").
        Task = Name, Width = 96, Depth = 4, Heads = 4, Patch = 2, Iterations = 7000, BatchSize = 64,
        LearningRate = 2e-3, WarmupIterations = 200, EmaDecay = 0.999, ConditionDropout = 0.1, SampleCfg = 3.0, LogEvery = 50, CheckpointEvery = 500,
    };

    public override JsonObject Measure(float[] pixels, IReadOnlyList<string> prompts, int seeds) => ToJson(GlyphMetrics.FromSamples(pixels, prompts, seeds));

    /// <summary>The prompt fixes character and colours; the placement is drawn.</summary>
    public override Tensor RealGrid(IReadOnlyList<string> prompts, int seeds, int seed)
    {
        using var generator = Runtime.NewGenerator(seed + 7919);
        var parsed = prompts.Select(GlyphReader.ParsePrompt).ToList();
        var wanted = Enumerable.Range(0, seeds).SelectMany(_ => parsed).ToList();
        return GlyphsTask.RenderBatch(GlyphsTask.SampleAttributes(wanted.Count, generator, wanted));
    }

    public override (double SameLayout, double MeanCentreShift) LayoutAgreement(float[] a, float[] b) => GlyphMetrics.LayoutAgreement(a, b);

    public override IReadOnlyList<(string Label, string Key)> EvalRows { get; } =
    [
        ("character accuracy", "character_accuracy"), ("colour accuracy (fg and bg)", "colour_accuracy"), ("all attributes", "all_attributes_accuracy"),
        ("mean glyph match (IoU)", "mean_glyph_match"), ("distinct layouts per prompt (of 8)", "distinct_layouts_per_prompt"),
    ];

    public override IReadOnlyList<string> CompareKeys { get; } =
        ["character_accuracy", "colour_accuracy", "distinct_layouts_per_prompt", "features.feature_cosine", "features.perceptual", "features.composition.spread_ratio", "seconds"];

    public override (string First, string Second, string Description) PromptFollowing =>
        ("character_accuracy", "colour_accuracy", "character / colour accuracy (read back with the task's own renderer)");

    public override (string Key, string Name) Fidelity => ("character_accuracy", "character");

    /// <summary>Every attribute the image records: character, both colours (and the scale when the task draws several), and the centre.</summary>
    public override EncoderSpec Encoder => new("glyphs", 3,
        [BitmapFont.Characters.Count, GlyphsTask.Colours.Count, GlyphsTask.Colours.Count, .. GlyphsTask.Scales.Length > 1 ? [GlyphsTask.Scales.Length] : Array.Empty<int>()],
        ["character", "foreground", "background", .. GlyphsTask.Scales.Length > 1 ? ["scale"] : Array.Empty<string>()],
        ["centreX", "centreY"], ImageSize: GlyphsTask.Size);

    public override (Tensor X, Tensor Categories, Tensor Regressions) EncoderBatch(int n, Generator generator)
    {
        var batch = new GlyphsTask().Sample(n, generator);
        batch.Prompts.Dispose();
        var colours = GlyphsTask.Colours.Keys.ToList();
        var characters = BitmapFont.Characters.ToList();
        var heads = Encoder.Categories.Length;   // the scale head exists only when the task has several scales
        var cats = batch.Attributes.SelectMany(a => new long[]
        {
            characters.IndexOf(a.Character), colours.IndexOf(a.Foreground), colours.IndexOf(a.Background),
            Array.IndexOf(GlyphsTask.Scales, a.Scale),
        }.Take(heads)).ToArray();
        var half = GlyphsTask.Size / 2.0;
        var regs = batch.Attributes.SelectMany(a => new[]
        {
            (float)((a.Left + BitmapFont.Width * a.Scale / 2.0 - half) / half), (float)((a.Top + BitmapFont.Height * a.Scale / 2.0 - half) / half),
        }).ToArray();
        return (batch.Pixels, torch.tensor(cats, [n, heads]), torch.tensor(regs, [n, 2]));
    }
}
