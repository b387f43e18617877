using System.Text.Json.Nodes;
using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Experiments;
using PhasedDmd.IO;
using PhasedDmd.Training;
using Xunit;

namespace PhasedDmd.Tests.Experiments;

public class DemoReportTests
{
    private static DemoEntry Entry(string name, params (string Key, double Value)[] metrics)
        => new(name, name, "", null, 0, metrics.ToDictionary(m => m.Key, m => m.Value));

    [Fact]
    public void Flatten_walks_nested_objects_into_dotted_keys()
    {
        var flat = PhasedDmd.Evaluation.PromptGridEvaluation.Flatten(System.Text.Json.Nodes.JsonNode.Parse(PhasedDmd.IO.Json.SerializeMetrics(new { a = 1.5, b = new { c = 2, d = new { e = -3.0 } }, text = "x" })));
        Assert.Equal(new Dictionary<string, double> { ["a"] = 1.5, ["b.c"] = 2, ["b.d.e"] = -3 }, flat);
    }

    [Fact]
    public void Claims_compare_the_measured_numbers_in_the_stated_direction()
    {
        var report = new DemoReport
        {
            Config = DemoConfig.Default(),
            Methods =
            {
                ["glyphs"] =
                [
                    Entry("teacher"),
                    Entry("dmd", ("features.feature_cosine", 0.9), ("features.perceptual", 0.5), ("character_accuracy", 0.8), ("features.composition.spread_ratio", 0.6)),
                    Entry("phased", ("features.feature_cosine", 0.7), ("features.perceptual", 0.4), ("character_accuracy", 0.8), ("features.composition.spread_ratio", 0.6)),
                ],
            },
            Fig5 = [Entry("1x", ("features.frechet_to_teacher", 50)), Entry("4x", ("features.frechet_to_teacher", 60))],
            Fig5Layout = { ["same_layout_fraction"] = 0.9, ["mean_centre_shift_pixels"] = 0.2 },
        };
        var claims = DemoReportWriter.Claims(report).ToDictionary(c => c.Claim, c => c.Holds);
        Assert.True(claims["Phased DMD keeps more diversity than dmd (Table 2: feature cosine among seeds ↓)"]);   // 0.7 < 0.9
        Assert.False(claims["Phased DMD keeps more diversity than dmd (Table 2: perceptual distance among seeds ↑)"]);   // 0.4 < 0.5
        Assert.True(claims["Phased DMD renders characters at least as well as dmd (text rendering)"]);   // retention: a tie holds
        Assert.False(claims["Phased DMD keeps more composition diversity than dmd (composition spread / data's ↑)"]);   // a tie is not "more"
        Assert.True(claims.Single(c => c.Key.StartsWith("Training the high-SNR expert longer leaves")).Value);
        Assert.False(claims.Single(c => c.Key.StartsWith("Training the high-SNR expert longer improves")).Value);
        // nothing is claimed about measures that were not taken (no sgts, no motion)
        Assert.DoesNotContain(claims.Keys, k => k.Contains("sgts") || k.Contains("motion"));
        var md = DemoReportWriter.Markdown(report with { Claims = DemoReportWriter.Claims(report) });
        Assert.Contains("| glyphs | phased | 0.700 |", md);
    }

    [Fact]
    public void Motion_free_claims_compare_flow_dynamic_degree_diversity_and_direction_shares()
    {
        var report = new DemoReport
        {
            Config = DemoConfig.Default(),
            Methods =
            {
                ["motion-free"] =
                [
                    Entry("teacher"),
                    Entry("sgts", ("mean_absolute_flow", 0.4), ("dynamic_degree", 0.9), ("motion_diversity", 0.2), ("direction_tv", 0.3)),
                    Entry("phased", ("mean_absolute_flow", 0.5), ("dynamic_degree", 0.8), ("motion_diversity", 0.4), ("direction_tv", 0.1)),
                ],
            },
        };
        var claims = DemoReportWriter.Claims(report).ToDictionary(c => c.Claim, c => c.Holds);
        Assert.True(claims["Phased DMD keeps more motion than sgts (Table 3: mean absolute optical flow ↑)"]);   // 0.5 > 0.4
        Assert.False(claims["Phased DMD keeps more motion than sgts (Table 3: dynamic degree ↑)"]);               // 0.8 < 0.9
        Assert.True(claims["Phased DMD keeps more motion diversity than sgts (spread of the motion across seeds ↑)"]);
        Assert.True(claims["Phased DMD's still / moving / direction shares are closer to the data's than sgts's (direction TV ↓)"]);   // 0.1 < 0.3
        Assert.Equal(4, claims.Count);   // no dmd entry, no glyphs: nothing else is claimed
        var md = DemoReportWriter.Markdown(report with { Claims = DemoReportWriter.Claims(report) });
        Assert.Contains("## Table 3 analogue — motion-free", md);
        Assert.Contains("| phased | 0.500 | 0.800 |", md);
        Assert.DoesNotContain("| motion-free | phased |", md);   // no encoder measures, so no Table 2 row
    }

    [Fact]
    public void Layout_agreement_is_one_for_identical_glyphs_and_measures_a_known_shift()
    {
        var per = 3 * GlyphsTask.Size * GlyphsTask.Size;
        var a = new GlyphAttributes('7', "red", "blue", 2, 1, 0);
        var moved = a with { Left = 5 };   // centre moves 5 px to the right
        float[] Render(params GlyphAttributes[] g)
        {
            var x = new float[g.Length * per];
            for (var i = 0; i < g.Length; i++) GlyphsTask.Render(g[i], x.AsSpan(i * per, per));
            return x;
        }
        var same = GlyphMetrics.LayoutAgreement(Render(a, moved), Render(a, moved));
        Assert.Equal((1.0, 0.0), same);
        var (fraction, shift) = GlyphMetrics.LayoutAgreement(Render(a, a), Render(a, moved));
        Assert.Equal(0.5, fraction);
        Assert.Equal(2.5, shift, 9);
    }
}

/// <summary>The whole demo on the shipped teachers at a tiny size: every part runs and the report holds every table.</summary>
[Collection(SerialCollection.Name)]
public class DemoEndToEndTests
{
    [Fact]
    public void A_tiny_demo_writes_the_report_with_every_table_and_figure()
    {
        var dir = TestUtil.TempDir("demo");
        var config = DemoConfig.QuickRun() with
        {
            ImageIterationsPerPhase = 2, RingIterationsPerPhase = 4, Toy1dIterations = 5, SeedsPerPrompt = 2, MotionFreeSeedsPerPrompt = 3, PromptLimit = 2,
            MixtureSamples = 200, Fig5Multiplier = 2, ImageAblations = true, Threads = 2,
        };
        // The shipped teachers and encoders are found above the test executable (the repository checkout).
        {
            var report = Demo.Run(config, dir);
            Assert.Empty(report.TeacherTrainSeconds);   // shipped teachers, nothing trained
            var tasks = Demo.ImageTasks.Where(t => TestUtil.RepoRoot() is { } root && Directory.Exists(Path.Combine(root, "assets", "teachers", t))).ToArray();
            Assert.Contains("motion-free", tasks);
            Assert.Equal(["ring8", .. tasks], report.Teachers.Keys.ToArray());
            Assert.Equal(tasks, report.Methods.Keys.ToArray());
            foreach (var task in tasks)
            {
                Assert.Equal(["teacher", "dmd", "sgts", "phased"], report.Methods[task].Select(e => e.Name).ToArray());
                var encoder = EncoderTraining.Shipped(task) is not null;   // motion-free has none: its Table 3 measures need no encoder
                Assert.All(report.Methods[task], e => Assert.Equal(encoder, e.Metrics.ContainsKey("features.feature_cosine")));
                Assert.All(report.Methods[task], e => Assert.True(File.Exists(Path.Combine(dir, task, e.Name + ".png"))));
            }
            Assert.True(File.Exists(Path.Combine(dir, "motion-free", "phased.apng")));
            Assert.All(report.Methods["motion-free"], e => Assert.Equal(2 * 3, e.Metrics["prompts"] * e.Metrics["seeds_per_prompt"]));
            Assert.InRange(report.RealData["motion-free"]["dynamic_degree"], 0, 1);
            Assert.Contains(report.Claims, c => c.Claim.Contains("direction TV"));
            Assert.Equal(2, report.Fig5.Count);
            Assert.InRange(report.Fig5Layout["same_layout_fraction"], 0, 1);
            Assert.Equal(4, report.Ablations.Count);
            Assert.Contains(report.Ring8, r => r.Name == "phased-K4");
            Assert.NotEmpty(report.Claims);
            var md = File.ReadAllText(Path.Combine(dir, "report.md"));
            foreach (var section in (string[])["## What reproduces", "## Table 2 analogue", "## Table 3 analogue", "## Fig. 5 analogue", "## App. E.2", "## ring8", "## toy1d"])
                Assert.Contains(section, md);
            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "report.json")))!;
            Assert.Equal(2, json["config"]!["image_iterations_per_phase"]!.GetValue<int>());
            Assert.True(File.Exists(Path.Combine(dir, "toy1d", "toy1d.png")));
            // A second run into the same folder reuses every finished student instead of training again.
            var again = Demo.Run(config, dir);
            Assert.Equal(report.Methods["motion-free"].Select(e => e.TrainSeconds), again.Methods["motion-free"].Select(e => e.TrainSeconds));
        }
    }
}

public class MotionLayoutAgreementTests
{
    [Fact]
    public void Same_clips_agree_and_a_moved_start_is_measured()
    {
        var per = MotionTask.Frames * MotionTask.Size * MotionTask.Size;
        var a = new MotionAttributes("square", "right", 0.5, 5, 6);
        float[] Render(params MotionAttributes[] clips)
        {
            var x = new float[clips.Length * per];
            for (var i = 0; i < clips.Length; i++) MotionTask.Render(clips[i], x.AsSpan(i * per, per));
            return x;
        }
        Assert.Equal((1.0, 0.0), MotionMetrics.LayoutAgreement(Render(a), Render(a)));
        var (same, shift) = MotionMetrics.LayoutAgreement(Render(a), Render(a with { StartX = 8, StartY = 10 }));   // moved by (3, 4)
        Assert.Equal(0.0, same);
        Assert.Equal(5.0, shift, 1);
    }
}
