using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using TorchSharp;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Prompt following and composition of a glyphs model, read with <see cref="GlyphReader"/> from
/// the fixed evaluation prompts × seeds (the paper's protocol: 21 prompts × 8 seeds).
/// </summary>
public sealed record GlyphMetrics(
    int Prompts, int SeedsPerPrompt,
    double CharacterAccuracy, double ColourAccuracy, double AllAttributesAccuracy, double MeanGlyphMatch,
    double DistinctLayoutsPerPrompt)
{
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
        return new GlyphMetrics(prompts.Count, seeds, character, colours, all, match, layouts);
    }

    /// <summary>
    /// Whether two sets of images drawn from the same noises keep their composition (the paper's
    /// Fig. 5: training the high-SNR expert longer must not move what the low-SNR expert laid out).
    /// Each image is read with <see cref="GlyphReader"/>; returns the fraction of pairs with the same
    /// scale and position, and the mean distance (pixels) between the glyphs' centres.
    /// </summary>
    public static (double SameLayout, double MeanCentreShift) LayoutAgreement(float[] a, float[] b)
    {
        var per = 3 * GlyphsTask.Size * GlyphsTask.Size;
        if (a.Length != b.Length || a.Length % per != 0) throw new ArgumentException("LayoutAgreement: two equally long sets of glyph images are needed");
        var n = a.Length / per;
        var same = 0;
        var shift = 0.0;
        for (var i = 0; i < n; i++)
        {
            var ra = GlyphReader.Read(a.AsSpan(i * per, per));
            var rb = GlyphReader.Read(b.AsSpan(i * per, per));
            if (ra.Scale == rb.Scale && ra.Top == rb.Top && ra.Left == rb.Left) same++;
            double Cx(GlyphReading r) => r.Left + BitmapFont.Width * r.Scale / 2.0;
            double Cy(GlyphReading r) => r.Top + BitmapFont.Height * r.Scale / 2.0;
            shift += Math.Sqrt(Math.Pow(Cx(ra) - Cx(rb), 2) + Math.Pow(Cy(ra) - Cy(rb), 2));
        }
        return (same / (double)n, shift / n);
    }

    /// <summary>
    /// How much noise a teacher can undo: real images with known attributes are noised to each
    /// start time t₀ (x_t₀ = α x₀ + σ ε), integrated back to t = 0 with the teacher's own solver,
    /// steps (scaled by t₀) and CFG, and read again. Character accuracy near 1 at t₀ = 1 means the
    /// teacher draws characters from pure noise; where it falls shows which noise levels it has not
    /// learnt. Returns (t₀, character accuracy, colour accuracy) per start time.
    /// </summary>
    public static List<(double StartTime, double CharacterAccuracy, double ColourAccuracy)> DenoisingCurve(
        LoadedModel model, IReadOnlyList<double> startTimes, int samples, int seed)
    {
        if (model.Network is not { } network) throw new InputException("startTimes: the denoising curve needs a teacher (a many-step model)");
        var bad = startTimes.Where(t0 => t0 is <= 0 or > 1 || double.IsNaN(t0)).ToList();
        if (bad.Count > 0) throw new InputException($"startTimes: start times must be in (0, 1] (got {bad[0]})");
        if (samples < 1) throw new InputException("samples: the denoising curve needs at least one sample");
        var card = model.Card;
        var schedule = NoiseSchedule.FromName(card.Schedule);
        var task = new GlyphsTask();
        using var generator = Runtime.NewGenerator(seed);
        var batch = task.Sample(samples, generator);
        using var x0 = batch.Pixels;
        using var prompts = batch.Prompts;
        var expected = batch.Attributes.Select(a => (a.Character, a.Foreground, a.Background)).ToList();
        var solver = OdeSolvers.Parse(card.Sampling.Solver);
        var device = network.parameters().First().device;
        var curve = new List<(double, double, double)>();
        foreach (var t0 in startTimes)
        {
            using var scope = torch.NewDisposeScope();
            var eps = torch.randn(x0.shape, generator: generator);
            var xt = schedule.Alpha(t0) * x0 + schedule.Sigma(t0) * eps;
            var steps = Math.Max(1, (int)Math.Round(card.Sampling.Steps * t0));
            var times = Timesteps.Grid(steps, card.Sampling.Shift).Select(t => t0 * t).ToArray();
            var images = OdeSolvers.Integrate(network, xt.to(device), times, prompts.to(device), card.Sampling.Cfg, solver, schedule).cpu();
            var (character, colours, _, _) = GlyphReader.Accuracy(images.data<float>().ToArray(), expected);
            curve.Add((t0, character, colours));
        }
        return curve;
    }
}
