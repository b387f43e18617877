using PhasedDmd.Experiments.Benchmarks;
using PhasedDmd.Distillation;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using Xunit;

namespace PhasedDmd.Tests.Benchmarks;

public class FlopsTests
{
    /// <summary>
    /// Independent count: walk the built network's linear layers, apply each to the rows it sees
    /// (token-level layers to every token, conditioning layers to one vector) at 2·in·out FLOPs
    /// per row, and add the two attention products per block.
    /// </summary>
    [Theory]
    [InlineData(2, 96, 4, 4, 0)]
    [InlineData(4, 64, 3, 2, 0)]
    [InlineData(2, 32, 2, 2, 3)]
    public void Dit_forward_flops_match_a_count_over_the_built_layers(int patch, int width, int depth, int heads, int localMixing)
    {
        var spec = new DitSpec([3, 16, 16], Patch: patch, Width: width, Depth: depth, Heads: heads, VocabularySize: 23, PromptLength: 4, LocalMixing: localMixing);
        using var model = spec.Build();
        string[] perToken = ["patch_embed", "qkv", "proj", "fc1", "fc2", "final_out"];
        double counted = 0;
        foreach (var (name, layer) in model.AdaptableLayers())
        {
            var rows = perToken.Contains(name.Split('.')[^1]) ? spec.Tokens : 1;
            counted += 2.0 * rows * layer.InFeatures * layer.OutFeatures;
        }
        counted += depth * 2 * (2.0 * spec.Tokens * spec.Tokens * width);
        foreach (var (name, module) in model.named_modules())
            if (module is TorchSharp.Modules.Conv2d conv)   // depthwise: one k×k filter per channel, every token
                counted += 2.0 * spec.Tokens * conv.weight.shape[0] * conv.weight.shape[2] * conv.weight.shape[3];
        Assert.Equal(counted, Flops.DitForward(spec), 6);
        Assert.Equal(3 * 8 * counted, Flops.DitTrainingStep(spec, 8), 6);
    }
}

public class StatsTests
{
    [Fact]
    public void Median_and_slope_match_hand_computed_values()
    {
        Assert.Equal(2.0, Stats.Median([3.0, 1.0, 2.0]));
        Assert.Equal(2.5, Stats.Median([4.0, 1.0, 2.0, 3.0]));
        Assert.True(double.IsNaN(Stats.Median([])));
        Assert.Equal(3.0, Stats.Slope([1.0, 2.0, 4.0], [5.0, 8.0, 14.0]), 12);   // y = 3x + 2
    }

    [Fact]
    public void Memory_summary_ratios_and_slope_follow_from_the_rows()
    {
        UpdateMeasurement Row(string c, double peak) => new("dit", c, "m", 1, 1, 1, 1, 1, 1, 0.1, 100, peak, true);
        var rows = new[] { Row("dmd", 200), Row("phased-K2", 210), Row("phased-K4", 240), Row("fewstep-N2", 300), Row("fewstep-N4", 400), Row("fewstep-N8", 600) };
        var m = BenchReport.Summarise("dit", rows);
        Assert.Equal(1.05, m.PhasedK2OverDmd, 12);
        Assert.Equal(1.2, m.PhasedK4OverDmd, 12);
        Assert.Equal(50, m.FewstepSlopeMiBPerStep, 9);
        Assert.Equal(2, m.FewstepN8OverN2, 12);
        Assert.Contains("| dit | phased-K2 |", BenchReport.Markdown(new BenchResults { Quick = true, Threads = 1, Machine = "test", Updates = [.. rows], Memory = [m] }));
    }
}

[Collection(SerialCollection.Name)]
public class UpdateBenchmarkTests
{
    [LinuxFact]
    public void Resetting_the_peak_forgets_an_earlier_allocation()
    {
        using (var big = torch.ones(64L * 1024 * 1024)) big.sum().Dispose();   // 256 MiB touched, then freed
        Assert.True(ProcessResources.TryResetPeak());
        var afterReset = ProcessResources.PeakRssBytes();
        Assert.True(afterReset < ProcessResources.CurrentRssBytes() + 64L * 1024 * 1024,
            $"peak {afterReset >> 20} MiB should be near the current {ProcessResources.CurrentRssBytes() >> 20} MiB after the reset");
    }

    [Fact]
    public void Every_phase_contributes_its_timed_updates_and_the_peak_includes_the_baseline()
    {
        var m = UpdateBenchmark.Measure(BenchModel.Mlp, BenchCase.Find("phased-K2"), threads: 1, warmup: 1, repeats: 2, batch: 64, fakeUpdates: 1);
        Assert.Equal(2 * 2, m.TimedUpdates);
        Assert.True(m.PeakRssMiB >= m.BaselineRssMiB * 0.95, $"peak {m.PeakRssMiB} vs baseline {m.BaselineRssMiB}");
        Assert.Equal("phased", m.Method);
        Assert.Throws<InputException>(() => BenchCase.Find("phased-K3"));
    }
    [Fact]
    public void The_timer_leaves_out_each_phases_warm_up_and_its_last_logged_update()
    {
        var counted = new List<long>();
        var timer = new UpdateTimer(warmup: 2, perPhase: 6);
        foreach (var phase in new[] { 1, 2 })
        {
            timer.PhaseStarted(phase, 1);
            for (var it = 1; it <= 6; it++)
            {
                var before = timer.Seconds.Count;
                timer.Updated(new UpdateReport((phase - 1) * 6 + it, 12, phase, it, "", null));
                if (timer.Seconds.Count > before) counted.Add(it);
            }
        }
        Assert.Equal([3, 4, 5, 3, 4, 5], counted);
    }

    [Fact]
    public void No_tensor_outlives_its_update_in_a_long_run()
    {
        // Within a phase every update must leave exactly the tensors it found (models, optimizer
        // states, the phase's fake score): a tensor escaping the dispose scopes shows as a count
        // that climbs with the updates, whatever the allocator does with resident memory.
        var g = MemoryGrowthBenchmark.Measure(threads: 1, updates: 24, every: 2);
        var byPhase = g.AtUpdate.Zip(g.LiveTensors).Where(p => p.First > 0).GroupBy(p => (p.First - 1) / 12).ToList();
        Assert.Equal(2, byPhase.Count);
        foreach (var phase in byPhase)
            Assert.Single(phase.Select(p => p.Second).Distinct());
        Assert.Equal(g.AtUpdate.Count, g.RssMiB.Count);
        Assert.Equal("naive", BenchCase.Find("phased-K2-naive").FakeObjective);
        Assert.Equal(IntervalKind.Disjoint, BenchCase.Find("phased-K2-disjoint").Interval);
    }
}
