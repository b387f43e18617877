namespace PhasedDmd.Data;

/// <summary>The built-in analytic tasks (and user mixtures) by name.</summary>
public static class MixtureTasks
{
    public static readonly string[] BuiltIn = ["gmm1d", "ring8", "grid9"];

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

    /// <summary>Resolves a task name (or <c>mixture</c> with a JSON file) to its mixture.</summary>
    public static GaussianMixture Resolve(string task, string? mixtureFile = null) => task switch
    {
        "gmm1d" => Gmm1d(),
        "ring8" => Ring8(),
        "grid9" => Grid9(),
        "mixture" => mixtureFile is null
            ? throw new InputException("task 'mixture' needs --mixture FILE")
            : GaussianMixture.Load(mixtureFile),
        _ => throw new InputException($"unknown task '{task}' (expected one of: gmm1d, ring8, grid9, mixture)"),
    };
}
