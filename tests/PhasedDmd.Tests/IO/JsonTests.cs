using System.Text.Json.Nodes;
using PhasedDmd.IO;
using Xunit;

namespace PhasedDmd.Tests.IO;

public class JsonTests
{
    private sealed record Sample(double ModeCoverage, double WeightTv, double PeakRssMiB, double DmdUpdateRatioOursOverPyTorch, Dictionary<string, double> Metrics);

    [Fact]
    public void Metrics_files_use_snake_case_keys_and_keep_dictionary_keys_as_given()
    {
        var node = JsonNode.Parse(Json.SerializeMetrics(new Sample(1, 0.5, 200, 1.1, new() { ["features.composition.spread_ratio"] = 0.7 })))!.AsObject();
        Assert.Equal(["mode_coverage", "weight_tv", "peak_rss_mib", "dmd_update_ratio_ours_over_pytorch", "metrics"], node.Select(kv => kv.Key));
        Assert.Equal(0.7, node["metrics"]!["features.composition.spread_ratio"]!.GetValue<double>());
    }

    [Fact]
    public void Configs_keep_camel_case()
    {
        var node = JsonNode.Parse(Json.Serialize(new PhasedDmd.Distillation.DistillConfig()))!.AsObject();
        Assert.Contains("fakeUpdatesPerGeneratorUpdate", node.Select(kv => kv.Key));
        Assert.Equal("nested", node["interval"]!.GetValue<string>());
    }
}
