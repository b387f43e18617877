using PhasedDmd.Data;
using PhasedDmd.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Data;

public class GlyphsTaskTests
{
    [Fact]
    public void Pixels_match_the_attributes()
    {
        using var g = Runtime.NewGenerator(1);
        var task = new GlyphsTask();
        var batch = task.Sample(200, g);
        Assert.Equal(new long[] { 200, 3, 16, 16 }, batch.Pixels.shape);
        var px = batch.Pixels.data<float>().ToArray();
        for (var i = 0; i < 200; i++)
        {
            var a = batch.Attributes[i];
            Assert.NotEqual(a.Foreground, a.Background);
            Assert.InRange(a.Top, 0, 16 - 7 * a.Scale);
            Assert.InRange(a.Left, 0, 16 - 5 * a.Scale);
            var fg = GlyphsTask.Colours[a.Foreground];
            var bg = GlyphsTask.Colours[a.Background];
            var inkPixels = 0;
            for (var y = 0; y < 16; y++)
                for (var x = 0; x < 16; x++)
                {
                    var rgb = (px[i * 768 + y * 16 + x], px[i * 768 + 256 + y * 16 + x], px[i * 768 + 512 + y * 16 + x]);
                    var isFg = rgb == (2 * fg.R - 1, 2 * fg.G - 1, 2 * fg.B - 1);
                    var isBg = rgb == (2 * bg.R - 1, 2 * bg.G - 1, 2 * bg.B - 1);
                    Assert.True(isFg ^ isBg, $"pixel ({y},{x}) of image {i} is neither (or both) colours");
                    if (isFg)
                    {
                        inkPixels++;
                        // every ink pixel lies on an ink cell of the font, scaled and placed as the attributes say
                        Assert.True(BitmapFont.Ink(a.Character, (y - a.Top) / a.Scale, (x - a.Left) / a.Scale));
                    }
                }
            var cells = 0;
            for (var r = 0; r < 7; r++) for (var c = 0; c < 5; c++) if (BitmapFont.Ink(a.Character, r, c)) cells++;
            Assert.Equal(cells * a.Scale * a.Scale, inkPixels);
        }
    }

    [Fact]
    public void Prompts_name_character_and_colours_and_round_trip()
    {
        using var g = Runtime.NewGenerator(2);
        var task = new GlyphsTask();
        var batch = task.Sample(50, g);
        var ids = batch.Prompts.data<long>().ToArray();
        for (var i = 0; i < 50; i++)
        {
            var a = batch.Attributes[i];
            Assert.Equal($"{a.Foreground} {char.ToLowerInvariant(a.Character)} on {a.Background}", task.Vocabulary.Decode(ids.Skip(4 * i).Take(4)));
        }
        Assert.Equal(21, task.EvaluationPrompts.Count);
        Assert.Equal(21, task.EvaluationPrompts.Distinct().Count());
        Assert.Throws<InputException>(() => task.Vocabulary.Encode("purple 7 on blue"));
    }

    [Fact]
    public void Free_attributes_cover_their_range_and_the_same_seed_repeats()
    {
        static GlyphAttributes[] Draw(long seed)
        {
            using var g = Runtime.NewGenerator(seed);
            return GlyphsTask.SampleAttributes(2000, g);
        }
        var a = Draw(5);
        Assert.Equal(a, Draw(5));
        Assert.NotEqual(a, Draw(6));
        Assert.Equal(GlyphsTask.Scales.Order(), a.Select(x => x.Scale).Distinct().Order());
        // scale 2 (10 × 14 glyphs on 16 × 16): 3 rows × 7 columns of positions, all reachable, none outside
        Assert.Equal([0, 1, 2], a.Where(x => x.Scale == 2).Select(x => x.Top).Distinct().Order());
        Assert.Equal(Enumerable.Range(0, 7), a.Where(x => x.Scale == 2).Select(x => x.Left).Distinct().Order());
        Assert.Equal(BitmapFont.Characters.Count, a.Select(x => x.Character).Distinct().Count());
    }
}

public class MotionTaskTests
{
    [Fact]
    public void The_shape_moves_by_the_true_speed_and_direction()
    {
        using var g = Runtime.NewGenerator(3);
        var batch = new MotionTask().Sample(120, g);
        Assert.Equal(new long[] { 120, 8, 1, 16, 16 }, batch.Pixels.shape);
        var px = batch.Pixels.data<float>().ToArray();
        var per = 8 * 256;
        for (var i = 0; i < 120; i++)
        {
            var a = batch.Attributes[i];
            Assert.InRange(a.Speed, MotionTask.MinSpeed, MotionTask.MaxSpeed);
            double? firstMass = null;
            (double X, double Y)? firstCentroid = null;
            for (var f = 0; f < 8; f++)
            {
                double mass = 0, mx = 0, my = 0;
                for (var y = 0; y < 16; y++)
                    for (var x = 0; x < 16; x++)
                    {
                        var m = (px[i * per + f * 256 + y * 16 + x] + 1) / 2;   // coverage in [0, 1]
                        mass += m; mx += m * x; my += m * y;
                    }
                // the whole shape stays inside the frame: its area does not change (up to the supersampling quantisation of edges)
                firstMass ??= mass;
                Assert.True(Math.Abs(mass - firstMass.Value) < 0.08 * firstMass.Value, $"clip {i} frame {f}: area {mass} vs {firstMass}");
                var centroid = (mx / mass, my / mass);
                firstCentroid ??= centroid;
                var (ux, uy) = a.Unit;
                // displacement of the centroid (a rigid translation; the 8×8 supersampling quantises edges to 1/8 px)
                Assert.Equal(f * a.Speed * ux, centroid.Item1 - firstCentroid.Value.X, 0.15);
                Assert.Equal(f * a.Speed * uy, centroid.Item2 - firstCentroid.Value.Y, 0.15);
                if (a.Shape is "square" or "circle" or "cross")   // symmetric shapes: the centroid is the centre
                {
                    var (cx, cy) = a.CentreAt(f);
                    Assert.Equal(cx, centroid.Item1, 0.08);
                    Assert.Equal(cy, centroid.Item2, 0.08);
                }
            }
        }
    }

    [Fact]
    public void Prompts_name_shape_and_direction()
    {
        using var g = Runtime.NewGenerator(4);
        var task = new MotionTask();
        var batch = task.Sample(40, g);
        var ids = batch.Prompts.data<long>().ToArray();
        for (var i = 0; i < 40; i++)
            Assert.Equal($"{batch.Attributes[i].Shape} moving {batch.Attributes[i].Direction}", task.Vocabulary.Decode(ids.Skip(3 * i).Take(3)));
        Assert.Equal(16, task.EvaluationPrompts.Distinct().Count());
    }

    [Fact]
    public void Shapes_are_distinguishable_by_area()
    {
        // A sanity property of the renderer: the four shapes have clearly different areas (so a shape classifier has signal).
        var areas = MotionTask.Shapes.Select(s =>
        {
            var px = new float[8 * 256];
            MotionTask.Render(new MotionAttributes(s, "right", 0.5, 7.5, 7.5), px);
            return px.Take(256).Sum(v => (v + 1) / 2.0);
        }).ToArray();
        Assert.Equal(25.0, areas[0], 0.5);                       // 5×5 square
        Assert.Equal(Math.PI * 2.5 * 2.5, areas[1], 0.6);        // circle of radius 2.5
        Assert.Equal(12.5, areas[2], 0.6);                       // triangle: half of the 5×5 box
        Assert.Equal(2 * 5 * (5.0 / 3) - (5.0 / 3) * (5.0 / 3), areas[3], 0.8);   // two 5 × 5/3 bars minus their overlap
    }
}
