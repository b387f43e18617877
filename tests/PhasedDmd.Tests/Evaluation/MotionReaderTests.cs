using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Training;
using TorchSharp;
using Xunit;

namespace PhasedDmd.Tests.Evaluation;

public class MotionReaderTests
{
    [Fact]
    public void Reads_direction_speed_and_shape_of_clean_clips()
    {
        using var g = Runtime.NewGenerator(9);
        var batch = new MotionTask().Sample(200, g);
        var px = batch.Pixels.data<float>().ToArray();
        var per = 8 * 256;
        int shapes = 0;
        for (var i = 0; i < 200; i++)
        {
            var a = batch.Attributes[i];
            var r = MotionReader.Read(px.AsSpan(i * per, per));
            Assert.Equal(a.Direction, r.Direction);
            Assert.True(Math.Abs(r.Speed - a.Speed) <= 0.05 * a.Speed + 0.02, $"clip {i}: speed {r.Speed} vs true {a.Speed}");
            shapes += r.Shape == a.Shape ? 1 : 0;
        }
        Assert.True(shapes >= 190, $"shape accuracy {shapes}/200");
    }

    [Fact]
    public void A_static_clip_has_no_speed()
    {
        var clip = new float[8 * 256];
        MotionTask.Render(new MotionAttributes("circle", "left", 0.0, 8, 8), clip);
        var r = MotionReader.Read(clip);
        Assert.True(r.Speed < 1e-9);
        Assert.Equal("circle", r.Shape);
    }
}
