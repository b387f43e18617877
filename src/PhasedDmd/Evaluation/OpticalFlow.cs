namespace PhasedDmd.Evaluation;

/// <summary>
/// Pyramidal Lucas–Kanade optical flow (Lucas and Kanade 1981; the coarse-to-fine form of Bouguet
/// 2000), written from the method. For each pixel, the displacement d minimises the windowed
/// brightness-constancy error Σ_w (I(x) − J(x + d))². Each Newton step solves G·δ = b with the
/// structure tensor G = Σ_w ∇I ∇Iᵀ and the mismatch b = Σ_w (I(x) − J(x + d)) ∇I, with J sampled
/// bilinearly. Coarse levels give the starting guess for finer ones, doubled. Pixels whose G is
/// near-singular (flat areas, straight edges: the aperture problem) are marked untrackable.
/// </summary>
public static class OpticalFlow
{
    public static FlowField LucasKanade(ReadOnlySpan<float> previous, ReadOnlySpan<float> next, int width, int height, FlowOptions? options = null)
    {
        var o = options ?? new FlowOptions();
        if (width < 1 || height < 1 || previous.Length != width * height || next.Length != width * height)
            throw new ArgumentException($"frames must both hold {width}×{height} values (got {previous.Length} and {next.Length})");
        if (o.Levels < 1 || o.WindowRadius < 1 || o.Iterations < 1 || !(o.MinEigenvalue > 0))
            throw new ArgumentException($"invalid flow options {o}");

        var i0 = previous.ToArray();
        var j0 = next.ToArray();
        if (o.Smooth) (i0, j0) = (Binomial(i0, width, height), Binomial(j0, width, height));
        var pyramidI = Pyramid(i0, width, height, o.Levels);
        var pyramidJ = Pyramid(j0, width, height, o.Levels);
        float[]? guessU = null, guessV = null;
        bool[] trackable = [];
        for (var level = pyramidI.Count - 1; level >= 0; level--)
        {
            var (img, w, h) = pyramidI[level];
            var (other, _, _) = pyramidJ[level];
            var u = new float[w * h];
            var v = new float[w * h];
            if (guessU is not null)
            {
                var (cw, ch) = (pyramidI[level + 1].Width, pyramidI[level + 1].Height);
                for (var y = 0; y < h; y++)
                    for (var x = 0; x < w; x++)
                    {
                        var c = Math.Min(y / 2, ch - 1) * cw + Math.Min(x / 2, cw - 1);
                        u[y * w + x] = 2 * guessU[c];
                        v[y * w + x] = 2 * guessV![c];
                    }
            }
            trackable = Refine(img, other, w, h, u, v, o);
            (guessU, guessV) = (u, v);
        }
        return new FlowField(width, height, guessU!, guessV!, trackable);
    }

    /// <summary>
    /// Mean flow length of a clip: the average over consecutive frame pairs of the mean
    /// displacement over trackable pixels, in pixels per frame. For a rigid shape translating at a
    /// constant speed this is that speed. Frames are [frames × height × width], row-major.
    /// </summary>
    public static double MeanAbsoluteFlow(ReadOnlySpan<float> clip, int frames, int width, int height, FlowOptions? options = null)
    {
        if (frames < 2) throw new ArgumentException("a clip needs at least two frames");
        var per = width * height;
        if (clip.Length != frames * per) throw new ArgumentException($"clip must hold {frames}×{height}×{width} values (got {clip.Length})");
        double sum = 0;
        for (var f = 0; f + 1 < frames; f++)
            sum += LucasKanade(clip.Slice(f * per, per), clip.Slice((f + 1) * per, per), width, height, options).MeanMagnitude;
        return sum / (frames - 1);
    }

    /// <summary>
    /// The dynamic-degree threshold, calibrated on real clips: half the 5th percentile of their
    /// mean flows. At least 95% of real clips move faster than twice this. A static clip has flow
    /// near 0, well under it.
    /// </summary>
    public static double CalibrateDynamicThreshold(IReadOnlyList<double> realMeanFlows)
    {
        if (realMeanFlows.Count == 0) throw new ArgumentException("calibration needs real clips");
        var sorted = realMeanFlows.Order().ToArray();
        return 0.5 * sorted[(int)Math.Floor(0.05 * (sorted.Length - 1))];
    }

    /// <summary>Fraction of clips whose mean flow exceeds the threshold (the analogue of VBench's dynamic degree).</summary>
    public static double DynamicDegree(IReadOnlyList<double> meanFlows, double threshold)
        => meanFlows.Count == 0 ? 0 : meanFlows.Count(f => f > threshold) / (double)meanFlows.Count;

    /// <summary>Newton iterations at one level, in place on (u, v); returns which pixels are trackable.</summary>
    private static bool[] Refine(float[] img, float[] other, int w, int h, float[] u, float[] v, FlowOptions o)
    {
        var (gx, gy) = Gradients(img, w, h);
        var r = o.WindowRadius;
        var area = (2 * r + 1) * (2 * r + 1);
        var trackable = new bool[w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                double gxx = 0, gxy = 0, gyy = 0;
                for (var dy = -r; dy <= r; dy++)
                    for (var dx = -r; dx <= r; dx++)
                    {
                        var i = Clamp(y + dy, h) * w + Clamp(x + dx, w);
                        gxx += gx[i] * gx[i]; gxy += gx[i] * gy[i]; gyy += gy[i] * gy[i];
                    }
                var trace = gxx + gyy;
                var det = gxx * gyy - gxy * gxy;
                var minEigen = trace / 2 - Math.Sqrt(Math.Max(0, trace * trace / 4 - det));
                if (minEigen / area < o.MinEigenvalue) continue;    // untrackable: keep the coarser guess
                trackable[y * w + x] = true;
                var p = y * w + x;
                for (var it = 0; it < o.Iterations; it++)
                {
                    double bx = 0, by = 0;
                    for (var dy = -r; dy <= r; dy++)
                        for (var dx = -r; dx <= r; dx++)
                        {
                            var yy = Clamp(y + dy, h);
                            var xx = Clamp(x + dx, w);
                            var i = yy * w + xx;
                            var diff = img[i] - Bilinear(other, w, h, xx + u[p], yy + v[p]);
                            bx += diff * gx[i]; by += diff * gy[i];
                        }
                    var du = (gyy * bx - gxy * by) / det;
                    var dv = (gxx * by - gxy * bx) / det;
                    u[p] += (float)du;
                    v[p] += (float)dv;
                    if (du * du + dv * dv < 1e-6) break;
                }
            }
        return trackable;
    }

    /// <summary>Separable [1 4 6 4 1] / 16 smoothing with replicated borders.</summary>
    private static float[] Binomial(float[] img, int w, int h)
    {
        ReadOnlySpan<float> k = [1 / 16f, 4 / 16f, 6 / 16f, 4 / 16f, 1 / 16f];
        var tmp = new float[w * h];
        var result = new float[w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                float acc = 0;
                for (var t = -2; t <= 2; t++) acc += k[t + 2] * img[y * w + Clamp(x + t, w)];
                tmp[y * w + x] = acc;
            }
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                float acc = 0;
                for (var t = -2; t <= 2; t++) acc += k[t + 2] * tmp[Clamp(y + t, h) * w + x];
                result[y * w + x] = acc;
            }
        return result;
    }

    /// <summary>Central-difference gradients with replicated borders.</summary>
    private static (float[] Gx, float[] Gy) Gradients(float[] img, int w, int h)
    {
        var gx = new float[w * h];
        var gy = new float[w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                gx[y * w + x] = 0.5f * (img[y * w + Clamp(x + 1, w)] - img[y * w + Clamp(x - 1, w)]);
                gy[y * w + x] = 0.5f * (img[Clamp(y + 1, h) * w + x] - img[Clamp(y - 1, h) * w + x]);
            }
        return (gx, gy);
    }

    /// <summary>Level 0 is the image; each next level averages 2×2 blocks (stops before a side drops under 4).</summary>
    private static List<(float[] Image, int Width, int Height)> Pyramid(float[] image, int w, int h, int levels)
    {
        var result = new List<(float[], int, int)> { (image, w, h) };
        while (result.Count < levels && w >= 8 && h >= 8)
        {
            var (nw, nh) = (w / 2, h / 2);
            var down = new float[nw * nh];
            for (var y = 0; y < nh; y++)
                for (var x = 0; x < nw; x++)
                    down[y * nw + x] = 0.25f * (image[2 * y * w + 2 * x] + image[2 * y * w + 2 * x + 1] + image[(2 * y + 1) * w + 2 * x] + image[(2 * y + 1) * w + 2 * x + 1]);
            (image, w, h) = (down, nw, nh);
            result.Add((image, w, h));
        }
        return result;
    }

    private static float Bilinear(float[] img, int w, int h, double x, double y)
    {
        x = Math.Clamp(x, 0, w - 1);
        y = Math.Clamp(y, 0, h - 1);
        var x0 = Math.Min((int)x, w - 2 < 0 ? 0 : w - 2);
        var y0 = Math.Min((int)y, h - 2 < 0 ? 0 : h - 2);
        var x1 = Math.Min(x0 + 1, w - 1);
        var y1 = Math.Min(y0 + 1, h - 1);
        var fx = x - x0;
        var fy = y - y0;
        return (float)((1 - fy) * ((1 - fx) * img[y0 * w + x0] + fx * img[y0 * w + x1]) + fy * ((1 - fx) * img[y1 * w + x0] + fx * img[y1 * w + x1]));
    }

    private static int Clamp(int i, int n) => i < 0 ? 0 : i >= n ? n - 1 : i;
}
