using PhasedDmd.Data;
using PhasedDmd.Sampling;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Prompt following and composition of a glyphs model, read with <see cref="GlyphReader"/> from
/// the fixed evaluation prompts × seeds (the paper's protocol: 21 prompts × 8 seeds).
/// </summary>
public sealed record GlyphMetrics(
    int Prompts, int SeedsPerPrompt,
    double CharacterAccuracy, double ColourAccuracy, double AllAttributesAccuracy, double MeanGlyphMatch,
    double DistinctLayoutsPerPrompt, double LargeScaleFraction)
{
    public static GlyphMetrics Evaluate(LoadedModel model, int seeds, SampleOptions options)
    {
        var task = new GlyphsTask();
        var prompts = task.EvaluationPrompts;
        using var samples = ModelSampling.SamplePromptGrid(model, prompts, seeds, options);
        return FromSamples(samples.data<float>().ToArray(), prompts, seeds);
    }

    /// <summary>Samples laid out row-major as [seeds × prompts, 3, 16, 16].</summary>
    public static GlyphMetrics FromSamples(float[] images, IReadOnlyList<string> prompts, int seeds)
    {
        var parsed = prompts.Select(GlyphReader.ParsePrompt).ToList();
        var expected = Enumerable.Range(0, seeds).SelectMany(_ => parsed).ToList();
        var (character, colours, all, match) = GlyphReader.Accuracy(images, expected);
        var per = 3 * GlyphsTask.Size * GlyphsTask.Size;
        var readings = Enumerable.Range(0, expected.Count).Select(i => GlyphReader.Read(images.AsSpan(i * per, per))).ToList();
        // Composition diversity: how many different (scale, position) layouts one prompt gets across its seeds.
        var layouts = Enumerable.Range(0, prompts.Count)
            .Average(p => Enumerable.Range(0, seeds).Select(s => readings[s * prompts.Count + p]).Select(r => (r.Scale, r.Top, r.Left)).Distinct().Count());
        return new GlyphMetrics(prompts.Count, seeds, character, colours, all, match, layouts, readings.Average(r => r.Scale == 2 ? 1.0 : 0.0));
    }
}
