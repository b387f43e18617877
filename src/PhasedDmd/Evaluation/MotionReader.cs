using PhasedDmd.Data;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Reads a <c>motion</c> clip back into attributes with the task's renderer as ground truth: the
/// shape's centroid per frame (intensity-weighted), a least-squares line through the centroids
/// (its slope is the velocity: direction = the dominant axis and sign, speed = its length in
/// pixels per frame), and the shape whose render best overlaps (soft IoU) the middle frame near its centroid.
/// </summary>
public static class MotionReader
{
    private const int Size = MotionTask.Size, Frames = MotionTask.Frames;

    /// <summary>The intensity-weighted centroid (x, y) of one frame; the image centre for an empty frame.</summary>
    public static (double X, double Y) Centroid(ReadOnlySpan<float> clip, int frame)
    {
        double mass = 0, mx = 0, my = 0;
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
            {
                var m = Math.Clamp((clip[(frame * Size + y) * Size + x] + 1) / 2, 0, 1);
                mass += m; mx += m * x; my += m * y;
            }
        return mass > 1e-6 ? (mx / mass, my / mass) : (Size / 2.0, Size / 2.0);
    }

    /// <summary>The velocity (px/frame) of the least-squares line through the frames' centroids.</summary>
    public static (double Vx, double Vy) Velocity(ReadOnlySpan<float> clip)
    {
        var (cx, cy) = Centroids(clip);
        return (Slope(cx), Slope(cy));
    }

    private static (double[] X, double[] Y) Centroids(ReadOnlySpan<float> clip)
    {
        var cx = new double[Frames];
        var cy = new double[Frames];
        for (var f = 0; f < Frames; f++) (cx[f], cy[f]) = Centroid(clip, f);
        return (cx, cy);
    }

    /// <summary>Reads one clip given as 8 × 1 × 16 × 16 values in [−1, 1].</summary>
    public static MotionReading Read(ReadOnlySpan<float> clip)
    {
        var (cx, cy) = Centroids(clip);
        var vx = Slope(cx);
        var vy = Slope(cy);
        var direction = Math.Abs(vx) >= Math.Abs(vy) ? (vx < 0 ? "left" : "right") : (vy < 0 ? "up" : "down");

        // Soft IoU (Σ min / Σ max of coverages) against each shape rendered with 2×2 supersampling near the centroid.
        const int middle = Frames / 2;
        var coverage = new double[Size * Size];
        for (var p = 0; p < Size * Size; p++) coverage[p] = Math.Clamp((clip[middle * Size * Size + p] + 1) / 2, 0, 1);
        var best = (Shape: MotionTask.Shapes[0], Iou: -1.0);
        foreach (var shape in MotionTask.Shapes)
            for (var oy = -1.0; oy <= 1.0; oy += 0.25)
                for (var ox = -1.0; ox <= 1.0; ox += 0.25)
                {
                    double inter = 0, union = 0;
                    for (var y = 0; y < Size; y++)
                        for (var x = 0; x < Size; x++)
                        {
                            var t = 0.0;
                            for (var sy = 0; sy < 2; sy++)
                                for (var sx = 0; sx < 2; sx++)
                                    if (MotionTask.Inside(shape, x + (sx + 0.5) / 2 - 0.5 - cx[middle] - ox, y + (sy + 0.5) / 2 - 0.5 - cy[middle] - oy)) t += 0.25;
                            var c = coverage[y * Size + x];
                            inter += Math.Min(t, c);
                            union += Math.Max(t, c);
                        }
                    var iou = inter / Math.Max(1e-9, union);
                    if (iou > best.Iou) best = (shape, iou);
                }
        return new MotionReading(best.Shape, direction, Math.Sqrt(vx * vx + vy * vy), best.Iou);
    }

    /// <summary>Least-squares slope of values against frame index.</summary>
    private static double Slope(double[] v)
    {
        var meanF = (v.Length - 1) / 2.0;
        var meanV = v.Average();
        double num = 0, den = 0;
        for (var f = 0; f < v.Length; f++) { num += (f - meanF) * (v[f] - meanV); den += (f - meanF) * (f - meanF); }
        return num / den;
    }
}
