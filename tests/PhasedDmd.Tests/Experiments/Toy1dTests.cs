using PhasedDmd.Experiments;
using Xunit;

namespace PhasedDmd.Tests.Experiments;

[Collection(SerialCollection.Name)]
public class Toy1dTests
{
    /// <summary>
    /// Fig. 2 on a mixture other than the paper's, at reduced size: the subinterval model follows
    /// the exact trajectories as closely as the full model, the naive one is biased.
    /// </summary>
    [Fact]
    public void Subinterval_matches_exact_trajectories_and_naive_is_biased_on_a_user_mixture()
    {
        var dir = TestUtil.TempDir();
        var mixture = Path.Combine(dir, "m.json");
        File.WriteAllText(mixture, """{"means": [-1.0, 0.5, 1.5], "stds": [0.03, 0.03, 0.03], "weights": [0.4, 0.3, 0.3]}""");
        var config = new Toy1dConfig { MixtureFile = mixture, Hidden = 128, Layers = 4, Iterations = 1000, Trajectories = 100, EulerSteps = 50, Seed = 1 };
        var result = Toy1d.Run(config, Path.Combine(dir, "out"));
        var full = result.Models["full"].AtBoundary;
        var sub = result.Models["subinterval"].AtBoundary;
        var naive = result.Models["naive"].AtBoundary;
        Assert.True(sub < 0.1 && full < 0.1, $"full {full:F3}, subinterval {sub:F3}");
        Assert.True(naive > 2 * sub, $"naive {naive:F3} vs subinterval {sub:F3}");
        var lines = File.ReadAllLines(Path.Combine(dir, "out", "trajectories.csv"));
        Assert.Equal("model,trajectory,t,x", lines[0]);
        Assert.Equal(1 + 3 * 100 * 51, lines.Length);
        Assert.StartsWith("full,0,1,", lines[1]);
        Assert.StartsWith("full,0,0.5,", lines[51]);
        Assert.True(File.Exists(Path.Combine(dir, "out", "toy1d.png")));
        Assert.True(File.Exists(Path.Combine(dir, "out", "exact_trajectories.csv")));
    }
}
