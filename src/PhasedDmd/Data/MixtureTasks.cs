namespace PhasedDmd.Data;

/// <summary>The mixtures of the built-in analytic tasks (registered as point tasks by PhasedDmd.Tasks).</summary>
public static class MixtureTasks
{
    /// <summary>The paper's 1D toy (Fig. 2): points at −1, 0, 1, 2 with equal weights and a tiny std.</summary>
    public static GaussianMixture Gmm1d() => new(
        [[-1.0], [0.0], [1.0], [2.0]], [0.02, 0.02, 0.02, 0.02], [0.25, 0.25, 0.25, 0.25]);

    /// <summary>8 modes on a circle of radius 4, std 0.15, imbalanced weights so that mode dropping shows.</summary>
    public static GaussianMixture Ring8()
    {
        double[] weights = [0.30, 0.20, 0.15, 0.10, 0.08, 0.07, 0.07, 0.03];
        var means = Enumerable.Range(0, 8)
            .Select(k => new[] { 4.0 * Math.Cos(2 * Math.PI * k / 8), 4.0 * Math.Sin(2 * Math.PI * k / 8) })
            .ToArray();
        return new GaussianMixture(means, Enumerable.Repeat(0.15, 8).ToArray(), weights);
    }

    /// <summary>A 3×3 grid with spacing 3, std 0.2, mildly imbalanced weights.</summary>
    public static GaussianMixture Grid9()
    {
        var means = new List<double[]>();
        for (var i = -1; i <= 1; i++)
            for (var j = -1; j <= 1; j++)
                means.Add([3.0 * i, 3.0 * j]);
        double[] weights = [0.16, 0.14, 0.12, 0.11, 0.11, 0.10, 0.09, 0.09, 0.08];
        return new GaussianMixture(means.ToArray(), Enumerable.Repeat(0.2, 9).ToArray(), weights);
    }
}
