using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Evaluation;

public class GlyphReaderTests
{
    [Fact]
    public void Reads_clean_renders_exactly()
    {
        using var g = Runtime.NewGenerator(7);
        var batch = new GlyphsTask().Sample(150, g);
        var px = batch.Pixels.data<float>().ToArray();
        for (var i = 0; i < 150; i++)
        {
            var a = batch.Attributes[i];
            var r = GlyphReader.Read(px.AsSpan(i * 768, 768));
            Assert.Equal((a.Character, a.Foreground, a.Background, a.Scale, a.Top, a.Left, 1.0),
                         (r.Character, r.Foreground, r.Background, r.Scale, r.Top, r.Left, r.Match));
        }
    }

    [Fact]
    public void Tolerates_pixel_noise_and_rejects_a_wrong_character()
    {
        using var g = Runtime.NewGenerator(8);
        var batch = new GlyphsTask().Sample(200, g);
        using var noisy = batch.Pixels + 0.3 * torch.randn(batch.Pixels.shape, generator: g);
        var prompts = batch.Attributes.Select(a => (a.Character, a.Foreground, a.Background)).ToList();
        var (character, colours, all, match) = GlyphReader.Accuracy(noisy.data<float>().ToArray(), prompts);
        Assert.True(character >= 0.95, $"character accuracy {character}");
        Assert.True(colours >= 0.95, $"colour accuracy {colours}");
        // Against shuffled prompts the reader must disagree most of the time (it is not a constant).
        var shuffled = prompts.Skip(1).Append(prompts[0]).ToList();
        var (wrongChar, wrongColours, _, _) = GlyphReader.Accuracy(batch.Pixels.data<float>().ToArray(), shuffled);
        Assert.True(wrongChar < 0.3 && wrongColours < 0.3, $"{wrongChar} {wrongColours}");
    }
}
