namespace PhasedDmd.Evaluation;

/// <summary>
/// A dense flow field between two frames: the displacement (U along x, V along y, in pixels) of
/// every pixel, and whether the pixel was trackable (its neighbourhood has texture in two
/// directions, so the displacement is determined and not just its component along one edge).
/// </summary>
public sealed record FlowField(int Width, int Height, float[] U, float[] V, bool[] Trackable)
{
    /// <summary>Mean displacement length over the trackable pixels; 0 where nothing is trackable (a blank or static-flat frame).</summary>
    public double MeanMagnitude
    {
        get
        {
            double sum = 0;
            var n = 0;
            for (var i = 0; i < U.Length; i++)
                if (Trackable[i]) { sum += Math.Sqrt(U[i] * U[i] + V[i] * V[i]); n++; }
            return n == 0 ? 0 : sum / n;
        }
    }

    /// <summary>Mean displacement vector over the trackable pixels.</summary>
    public (double U, double V) MeanVector
    {
        get
        {
            double su = 0, sv = 0;
            var n = 0;
            for (var i = 0; i < U.Length; i++)
                if (Trackable[i]) { su += U[i]; sv += V[i]; n++; }
            return n == 0 ? (0, 0) : (su / n, sv / n);
        }
    }
}
