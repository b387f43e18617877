using System.Globalization;
using System.Text;

namespace PhasedDmd.Experiments;

/// <summary>
/// Turns a <see cref="DemoReport"/> into <c>report.md</c> and checks the paper's claims on its
/// numbers. The claims are plain comparisons of measured values, fixed before the numbers are
/// seen; nothing is tuned to make them hold.
/// </summary>
public static class DemoReportWriter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static double Get(DemoEntry e, string key) => e.Metrics.TryGetValue(key, out var v) ? v : double.NaN;
    private static string F(double v, string format = "0.000") => double.IsNaN(v) ? "—" : v.ToString(format, Inv);
    private static DemoEntry? Find(DemoReport r, string task, string name) => r.Methods.TryGetValue(task, out var l) ? l.FirstOrDefault(e => e.Name == name) : null;

    /// <summary>The paper's statements, each checked on this run's numbers.</summary>
    public static List<DemoClaim> Claims(DemoReport r)
    {
        var claims = new List<DemoClaim>();
        // tieHolds: the claim is "at least as good" (retention), so equal values hold; otherwise it is "better" and must be strict.
        void Compare(string claim, string task, string better, string worse, string key, bool lowerIsBetter, string label, bool tieHolds = false)
        {
            if (Find(r, task, better) is not { } b || Find(r, task, worse) is not { } w) return;
            double vb = Get(b, key), vw = Get(w, key);
            if (double.IsNaN(vb) || double.IsNaN(vw)) return;
            var holds = (lowerIsBetter ? vb < vw : vb > vw) || (tieHolds && vb == vw);
            claims.Add(new DemoClaim(claim, $"{task} {label}: {better} {F(vb)} vs {worse} {F(vw)}", holds));
        }
        foreach (var task in r.Methods.Keys)
            foreach (var baseline in (string[])["dmd", "sgts"])
            {
                Compare($"Phased DMD keeps more diversity than {baseline} (Table 2: feature cosine among seeds ↓)", task, "phased", baseline, "features.feature_cosine", true, "feature cosine");
                Compare($"Phased DMD keeps more diversity than {baseline} (Table 2: perceptual distance among seeds ↑)", task, "phased", baseline, "features.perceptual", false, "perceptual distance");
                Compare($"Phased DMD keeps more composition diversity than {baseline} (composition spread / data's ↑)", task, "phased", baseline, "features.composition.spread_ratio", false, "composition spread ratio");
            }
        foreach (var baseline in (string[])["dmd", "sgts"])
        {
            foreach (var video in VideoTasks)
            {
                Compare($"Phased DMD keeps more motion than {baseline} (Table 3: mean absolute optical flow ↑)", video, "phased", baseline, "mean_absolute_flow", false, "mean |flow|");
                Compare($"Phased DMD keeps more motion than {baseline} (Table 3: dynamic degree ↑)", video, "phased", baseline, "dynamic_degree", false, "dynamic degree");
            }
            Compare($"Phased DMD keeps more motion diversity than {baseline} (spread of the motion across seeds ↑)", "motion-free", "phased", baseline, "motion_diversity", false, "motion diversity");
            Compare($"Phased DMD's still / moving / direction shares are closer to the data's than {baseline}'s (direction TV ↓)", "motion-free", "phased", baseline, "direction_tv", true, "direction TV");
            Compare($"Phased DMD renders characters at least as well as {baseline} (text rendering)", "glyphs", "phased", baseline, "character_accuracy", false, "character accuracy", tieHolds: true);
        }
        if (r.Fig5.Count == 2)
        {
            var (one, four) = (r.Fig5[0], r.Fig5[1]);
            if (r.Fig5Layout.TryGetValue("same_layout_fraction", out var same))
                claims.Add(new DemoClaim($"Training the high-SNR expert longer leaves the composition unchanged (Fig. 5, {r.StudyTask}; ≥ 80% of seeds keep their layout)",
                    $"{F(same)} of seeds keep their layout; mean centre shift {F(r.Fig5Layout["mean_centre_shift_pixels"], "0.00")} px", same >= 0.8));
            double f1 = Get(one, "features.frechet_to_teacher"), f4 = Get(four, "features.frechet_to_teacher");
            if (!double.IsNaN(f1) && !double.IsNaN(f4))
                claims.Add(new DemoClaim("Training the high-SNR expert longer improves fidelity (Fig. 5; Fréchet distance to the teacher's samples ↓)",
                    $"1×: {F(f1, "0.0")}, {r.Config.Fig5Multiplier}×: {F(f4, "0.0")}", f4 < f1));
            var (capability, capabilityName) = (Data.TaskRegistry.TryFind(r.StudyTask) as Evaluation.IPromptGridTask)?.Fidelity ?? ("", "");
            double c1 = Get(one, capability), c4 = Get(four, capability);
            if (!double.IsNaN(c1) && !double.IsNaN(c4))
                claims.Add(new DemoClaim($"Training the high-SNR expert longer improves fidelity (Fig. 5; {capabilityName} accuracy ↑)",
                    $"1×: {F(c1)}, {r.Config.Fig5Multiplier}×: {F(c4)}", c4 > c1));
        }
        if (r.Ablations.Count > 1)
        {
            var phased = r.Ablations[0];
            foreach (var (name, claim) in new[] { ("phased + disjoint intervals", "Reverse-nested intervals beat disjoint ones (App. E.2)"),
                                                  ("phased + naive fake objective", "Subinterval score matching beats the naive objective (App. E.2)") })
            {
                if (r.Ablations.FirstOrDefault(e => e.Name == name) is not { } a) continue;
                double vp = Get(phased, "features.frechet_to_teacher"), va = Get(a, "features.frechet_to_teacher");
                if (!double.IsNaN(vp) && !double.IsNaN(va))
                    claims.Add(new DemoClaim(claim + $", {r.StudyTask}: Fréchet distance to the teacher ↓", $"phased {F(vp, "0.0")} vs {name} {F(va, "0.0")}", vp < va));
            }
        }
        var ring = r.Ring8.ToDictionary(x => x.Name);
        void Ring(string claim, string better, string worse)
        {
            if (ring.TryGetValue(better, out var b) && ring.TryGetValue(worse, out var w))
                claims.Add(new DemoClaim(claim, $"ring8 weight TV: {better} {F(b.Mean["weight_tv"])} vs {worse} {F(w.Mean["weight_tv"])}", b.Mean["weight_tv"] < w.Mean["weight_tv"]));
        }
        Ring("Phased DMD matches the mode weights better than one-step DMD (ring8, exact mixture)", "phased", "dmd");
        Ring("Phased DMD matches the mode weights better than SGTS (ring8, exact mixture)", "phased", "sgts");
        Ring("Reverse-nested intervals beat disjoint ones (ring8)", "phased", "phased+disjoint");
        Ring("Subinterval score matching beats the naive objective (ring8)", "phased", "phased+naive");
        if (r.Toy1d is { } toy && toy.Models.TryGetValue("naive", out var naive) && toy.Models.TryGetValue("subinterval", out var sub))
            claims.Add(new DemoClaim("The naive subinterval objective learns the wrong trajectories; Eq. 13 learns the right ones (Fig. 2)",
                $"error at the boundary: subinterval {F(sub.AtBoundary)}, naive {F(naive.AtBoundary)} ({F(naive.AtBoundary / sub.AtBoundary, "0.0")}×)",
                naive.AtBoundary >= 2 * sub.AtBoundary && sub.AtBoundary < 0.1));
        return claims;
    }

    public static string Markdown(DemoReport r)
    {
        var sb = new StringBuilder();
        foreach (var section in (Action<StringBuilder, DemoReport>[])[Header, WhatReproduces, Table2, Table3, Samples, Fig5, Ablations, Ring8, Toy1d, Settings])
            section(sb, r);
        return sb.ToString();
    }

    /// <summary>The title, the run, the teachers and the protocol.</summary>
    private static void Header(StringBuilder sb, DemoReport r)
    {
        var c = r.Config;
        sb.AppendLine("# Phased DMD — demo report");
        sb.AppendLine();
        sb.AppendLine($"`phased-dmd demo{(c.Quick ? " --quick" : "")}{(c.FromScratch ? " --from-scratch" : "")}` took **{r.Seconds / 60:0.0} min** " +
                      $"({r.Machine}, {c.Threads} libtorch threads, seed {c.Seed}). Every number below is in `report.json`.");
        sb.AppendLine();
        sb.AppendLine("Teachers: " + string.Join("; ", r.Teachers.Select(t => $"{t.Key} `{Rel(t.Value)}`" +
            (r.TeacherTrainSeconds.TryGetValue(t.Key, out var s) ? $" (trained here in {s:0} s)" : " (shipped)"))) + ".");
        sb.AppendLine();
        foreach (var (task, why) in r.Skipped) sb.AppendLine($"**{task} skipped:** {why}.\n");
        var prompts = c.PromptLimit > 0 ? $"the first {c.PromptLimit}" : "all";
        sb.AppendLine($"Protocol: {prompts} evaluation prompts × {c.SeedsPerPrompt} seeds per task ({c.MotionFreeSeedsPerPrompt} for motion-free), the same noises for every model. " +
                      "The teacher samples with its own 40 Euler steps and CFG; students sample with CFG 1 on their own grid (dmd: 1 step; sgts, phased: 4 steps). " +
                      $"Phased DMD (2 phases) makes {c.ImageIterationsPerPhase} generator updates per phase on the DiT tasks, dmd and sgts {2 * c.ImageIterationsPerPhase} " +
                      $"(ring8: {c.RingIterationsPerPhase} per phase, baselines twice that). One seed per distillation: differences smaller than the seed-to-seed spread " +
                      "(see the README's 3-seed ring8 and grid9 tables) are not evidence either way.");
        sb.AppendLine();
    }

    /// <summary>The paper's claims checked on this run.</summary>
    private static void WhatReproduces(StringBuilder sb, DemoReport r)
    {
        sb.AppendLine("## What reproduces");
        sb.AppendLine();
        sb.AppendLine("| paper's claim | measured here | holds? |");
        sb.AppendLine("|---|---|---|");
        foreach (var claim in r.Claims) sb.AppendLine($"| {claim.Claim} | {claim.Evidence} | {(claim.Holds ? "yes" : "**no**")} |");
        sb.AppendLine();
        sb.AppendLine($"{r.Claims.Count(x => x.Holds)} of {r.Claims.Count} hold on this run.");
        sb.AppendLine();
    }

    /// <summary>Table 2 analogue: diversity, fidelity and prompt following of every model.</summary>
    private static void Table2(StringBuilder sb, DemoReport r)
    {
        sb.AppendLine("## Table 2 analogue — diversity, fidelity and prompt following");
        sb.AppendLine();
        sb.AppendLine("Feature cosine: mean pairwise cosine of the shipped encoder's embeddings among the seeds of a prompt (DINOv3 analogue, ↓ = more diverse). " +
                      "Perceptual: LPIPS-style distance among seeds (↑). Composition: spread of the predicted free attributes (glyphs: position; motion: speed, position) " +
                      "across seeds relative to real data's, and its W1 distance to the real distribution. Fréchet distances are in the encoder's 128-d space; " +
                      "their floor (real vs real of the same size) is in parentheses.");
        sb.AppendLine();
        sb.AppendLine("| task | model | feature cosine ↓ | perceptual ↑ | composition spread / data | composition W1 ↓ | Fréchet to data (floor) | Fréchet to teacher | prompt following | train s |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (task, entries) in r.Methods.Where(m => m.Value.Any(e => e.Metrics.ContainsKey("features.feature_cosine"))))
        {
            var real = entries.FirstOrDefault();
            if (real is not null)
                sb.AppendLine($"| {task} | real data | {F(Get(real, "features.real_feature_cosine"))} | {F(Get(real, "features.real_perceptual"))} | 1 | 0 | — | — | 1 | — |");
            foreach (var e in entries)
                sb.AppendLine($"| {task} | {e.Name} | {F(Get(e, "features.feature_cosine"))} | {F(Get(e, "features.perceptual"))} | {F(Get(e, "features.composition.spread_ratio"))} | " +
                              $"{F(Get(e, "features.composition.wasserstein"))} | {F(Get(e, "features.frechet_to_real"), "0")} ({F(Get(e, "features.frechet_real_floor"), "0")}) | " +
                              $"{(e.Name == "teacher" ? "—" : F(Get(e, "features.frechet_to_teacher"), "0"))} | {Capability(task, e)} | {(e.TrainSeconds is { } t ? t.ToString("0", Inv) : "—")} |");
        }
        sb.AppendLine();
        var unmeasured = r.Methods.Keys.Where(t => !r.Methods[t].Any(e => e.Metrics.ContainsKey("features.feature_cosine"))).ToList();
        if (unmeasured.Count > 0) sb.AppendLine($"No feature encoder is shipped for {string.Join(", ", unmeasured)}, so it has no row here; its diversity is in Table 3.\n");
        sb.AppendLine("Prompt following: " + string.Join("; ", r.Methods.Keys.Select(t => $"{t} = {Task(t).PromptFollowing.Description}")) + ".");
        sb.AppendLine();
    }

    /// <summary>The video tasks whose motion Table 3 measures, in the table's order.</summary>
    private static readonly string[] VideoTasks = ["motion-free", "motion"];

    /// <summary>Table 3 analogue: motion-free (and motion, when it ran).</summary>
    private static void Table3(StringBuilder sb, DemoReport r)
    {
        if (r.Methods.TryGetValue("motion-free", out var free))
        {
            sb.AppendLine("## Table 3 analogue — motion-free");
            sb.AppendLine();
            sb.AppendLine("The prompt names only the shape and an axis; a quarter of the real clips are still and the rest move either way along the axis at 0.25–1.25 px/frame, " +
                          "so a generator that averages the motions of a prompt loses them. Dynamic degree: share of clips whose tracked centroid speed exceeds " +
                          $"{F(Get(free[0], "dynamic_threshold"))} px/frame (half the 5th percentile of real moving clips'). Direction TV: total variation between the still / negative / positive shares and the data's. " +
                          "Motion diversity: spread of the centroid velocity across the seeds of a prompt, divided by the real clips'. Every clip starts from its own noise.");
            sb.AppendLine();
            sb.AppendLine("| model | mean absolute flow ↑ | dynamic degree | still / neg / pos | direction TV ↓ | motion diversity / data ↑ | tracked speed | shape acc | axis acc | train s |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
            var rows = r.RealData.TryGetValue("motion-free", out var real) ? [new DemoEntry("real data", "data", "", null, 0, real), .. free] : free;
            foreach (var e in rows)
                sb.AppendLine($"| {e.Name} | {F(Get(e, "mean_absolute_flow"))} | {F(Get(e, "dynamic_degree"))} | " +
                              $"{F(Get(e, "still_share"), "0.00")} / {F(Get(e, "negative_share"), "0.00")} / {F(Get(e, "positive_share"), "0.00")} | {F(Get(e, "direction_tv"))} | " +
                              $"{F(Get(e, "motion_diversity_ratio"))} | {F(Get(e, "mean_speed"))} | {F(Get(e, "shape_accuracy"))} | {F(Get(e, "axis_accuracy"))} | {(e.TrainSeconds is { } t ? t.ToString("0", Inv) : "—")} |");
            sb.AppendLine();
        }
        if (r.Methods.TryGetValue("motion", out var motion))
        {
            sb.AppendLine("## Table 3 analogue — motion");
            sb.AppendLine();
            sb.AppendLine("Mean absolute optical flow (pyramidal Lucas–Kanade, px/frame) and dynamic degree (fraction of clips whose flow exceeds a threshold calibrated on real clips); real data: speed 0.75 px/frame on average.");
            sb.AppendLine();
            sb.AppendLine("| model | mean absolute flow ↑ | dynamic degree ↑ | mean speed (tracked) | speed spread per prompt | shape acc | direction acc |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var e in motion)
                sb.AppendLine($"| {e.Name} | {F(Get(e, "mean_absolute_flow"))} | {F(Get(e, "dynamic_degree"))} | {F(Get(e, "mean_speed"))} | {F(Get(e, "speed_spread_per_prompt"))} | {F(Get(e, "shape_accuracy"))} | {F(Get(e, "direction_accuracy"))} |");
            sb.AppendLine();
        }
    }

    /// <summary>Fig. 3: the sample grids.</summary>
    private static void Samples(StringBuilder sb, DemoReport r)
    {
        sb.AppendLine("## Samples (paper Fig. 3: rows = seeds, columns = prompts)");
        sb.AppendLine();
        foreach (var (task, entries) in r.Methods)
        {
            sb.AppendLine($"### {task}");
            sb.AppendLine();
            sb.AppendLine("| " + string.Join(" | ", entries.Select(e => e.Name)) + " |");
            sb.AppendLine("|" + string.Concat(entries.Select(_ => "---|")));
            sb.AppendLine("| " + string.Join(" | ", entries.Select(e => $"![{task} {e.Name}]({task}/{e.Name}.png)")) + " |");
            if (Evaluation.PromptGridTasks.IsVideo(Task(task)))
                sb.AppendLine("| " + string.Join(" | ", entries.Select(e => $"[animated]({task}/{e.Name}.apng)")) + " |");
            sb.AppendLine();
        }
    }

    /// <summary>Fig. 5 analogue: the high-SNR expert trained longer.</summary>
    private static void Fig5(StringBuilder sb, DemoReport r)
    {
        var c = r.Config;
        if (r.Fig5.Count == 2)
        {
            sb.AppendLine($"## Fig. 5 analogue — the high-SNR expert trained {c.Fig5Multiplier}× longer ({r.StudyTask})");
            sb.AppendLine();
            sb.AppendLine($"The low-SNR expert (phase 1) of the phased student is frozen; the high-SNR expert (phase 2) is retrained from the teacher for {c.Fig5Multiplier}× the iterations. " +
                          "Both students then sample from the same noises.");
            sb.AppendLine();
            foreach (var (k, v) in r.Fig5Layout) sb.AppendLine($"- {k}: {F(v)}");
            sb.AppendLine();
            var glyphs = r.StudyTask == "glyphs";
            sb.AppendLine(glyphs
                ? "| student | composition spread / data | composition W1 | distinct layouts per prompt | character acc | glyph match (IoU) | Fréchet to teacher | Fréchet to data |"
                : "| student | composition spread / data | composition W1 | speed spread per prompt | shape acc | shape match (soft IoU) | Fréchet to teacher | Fréchet to data |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var e in r.Fig5)
                sb.AppendLine($"| {e.Name} | {F(Get(e, "features.composition.spread_ratio"))} | {F(Get(e, "features.composition.wasserstein"))} | " +
                              (glyphs ? $"{F(Get(e, "distinct_layouts_per_prompt"), "0.00")} | {F(Get(e, "character_accuracy"))} | {F(Get(e, "mean_glyph_match"))} | "
                                      : $"{F(Get(e, "speed_spread_per_prompt"))} | {F(Get(e, "shape_accuracy"))} | {F(Get(e, "mean_shape_match"))} | ") +
                              $"{F(Get(e, "features.frechet_to_teacher"), "0")} | {F(Get(e, "features.frechet_to_real"), "0")} |");
            sb.AppendLine();
            sb.AppendLine($"![1×]({r.StudyTask}/phased.png) ![{c.Fig5Multiplier}×]({r.StudyTask}/phased-expert2-{c.Fig5Multiplier}x.png)");
            sb.AppendLine();
        }
    }

    /// <summary>App. E.2 and Table 6 analogues.</summary>
    private static void Ablations(StringBuilder sb, DemoReport r)
    {
        var c = r.Config;
        sb.AppendLine("## App. E.2 and Table 6 analogues — ablations");
        sb.AppendLine();
        if (r.Ablations.Count > 0)
        {
            sb.AppendLine($"{r.StudyTask}, same generator-update budget ({2 * c.ImageIterationsPerPhase}); the disjoint run reuses the phased run's phase 1, whose interval (t_b1, 1] is the same for both.");
            sb.AppendLine();
            sb.AppendLine("| student | feature cosine ↓ | perceptual ↑ | composition spread / data | Fréchet to teacher ↓ | Fréchet to data | prompt following | train s |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var e in r.Ablations)
                sb.AppendLine($"| {e.Name} | {F(Get(e, "features.feature_cosine"))} | {F(Get(e, "features.perceptual"))} | {F(Get(e, "features.composition.spread_ratio"))} | " +
                              $"{F(Get(e, "features.frechet_to_teacher"), "0")} | {F(Get(e, "features.frechet_to_real"), "0")} | {Capability(r.StudyTask, e)} | {(e.TrainSeconds is { } t ? t.ToString("0", Inv) : "—")} |");
            sb.AppendLine();
        }
        else sb.AppendLine($"(Image-scale ablations are skipped in --quick; the ring8 ones below always run.)");
        sb.AppendLine();
    }

    /// <summary>ring8: every method against the exact mixture.</summary>
    private static void Ring8(StringBuilder sb, DemoReport r)
    {
        var c = r.Config;
        sb.AppendLine("## ring8 — every method against the exact mixture");
        sb.AppendLine();
        sb.AppendLine($"{c.MixtureSamples} samples per model, one distillation seed. phased-K4 has 4 phases with half the updates each (Table 6 analogue).");
        sb.AppendLine();
        sb.Append(MethodComparison.Markdown(r.Ring8));
        sb.AppendLine();
        sb.AppendLine(string.Join(" ", r.Ring8.Select(x => $"![{x.Name}](ring8/{x.Name}.png)")));
        sb.AppendLine();
    }

    /// <summary>toy1d: paper Fig. 2 against the exact trajectories.</summary>
    private static void Toy1d(StringBuilder sb, DemoReport r)
    {
        if (r.Toy1d is { } toy)
        {
            sb.AppendLine("## toy1d — paper Fig. 2 against the exact trajectories");
            sb.AppendLine();
            sb.AppendLine($"Mean absolute deviation from the exact probability-flow trajectories ({toy.Trajectories} trajectories, boundary s = {toy.Boundary}):");
            sb.AppendLine();
            sb.AppendLine("| model | at the boundary | along the path |");
            sb.AppendLine("|---|---|---|");
            foreach (var (name, e) in toy.Models) sb.AppendLine($"| {name} | {F(e.AtBoundary)} | {F(e.AlongPath)} |");
            sb.AppendLine();
            sb.AppendLine("![toy1d](toy1d/toy1d.png)");
            sb.AppendLine();
        }
    }

    /// <summary>The demo config, replayable.</summary>
    private static void Settings(StringBuilder sb, DemoReport r)
    {
        sb.AppendLine("## Settings");
        sb.AppendLine();
        sb.AppendLine("```json");
        sb.AppendLine(IO.Json.Serialize(r.Config));
        sb.AppendLine("```");
    }

    private static string Capability(string task, DemoEntry e)
    {
        var (first, second, _) = Task(task).PromptFollowing;
        return $"{F(Get(e, first), "0.00")} / {F(Get(e, second), "0.00")}";
    }

    private static Evaluation.IPromptGridTask Task(string name) => Data.TaskRegistry.Find<Evaluation.IPromptGridTask>(name, "prompt-grid evaluation");

    private static string Rel(string path)
    {
        var full = Path.GetFullPath(path);
        var cwd = Path.GetFullPath(".");
        return full.StartsWith(cwd, StringComparison.Ordinal) ? Path.GetRelativePath(cwd, full) : full;
    }
}
