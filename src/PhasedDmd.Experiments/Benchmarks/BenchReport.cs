using System.Globalization;
using System.Text;
using ScottPlot;

namespace PhasedDmd.Experiments.Benchmarks;

public static class BenchReport
{
    public static MemorySummary Summarise(string model, IReadOnlyList<UpdateMeasurement> updates)
    {
        var rows = updates.Where(u => u.Model == model).ToDictionary(u => u.Case);
        double Peak(string c) => rows.TryGetValue(c, out var r) ? r.PeakRssMiB : double.NaN;
        var few = new[] { 2, 4, 8 }.Where(n => rows.ContainsKey($"fewstep-N{n}")).ToList();
        var slope = few.Count >= 2 ? Stats.Slope(few.Select(n => (double)n).ToList(), few.Select(n => Peak($"fewstep-N{n}")).ToList()) : double.NaN;
        return new MemorySummary(model, Peak("phased-K2") / Peak("dmd"), Peak("phased-K4") / Peak("dmd"), slope, Peak("fewstep-N8") / Peak("fewstep-N2"));
    }

    private static string F(double v, string format = "0.000") => double.IsNaN(v) ? "—" : v.ToString(format, CultureInfo.InvariantCulture);

    public static string Markdown(BenchResults r)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# phased-dmd bench{(r.Quick ? " (quick)" : "")}");
        sb.AppendLine();
        sb.AppendLine($"{r.Machine}; libtorch intra-op threads: {r.Threads}. Every configuration ran in a fresh child process.");
        sb.AppendLine();
        sb.AppendLine("## Generator updates: peak resident memory and time");
        sb.AppendLine();
        sb.AppendLine("Peak RSS is the whole process's peak during the updates (the peak is reset just before the first update); 'above baseline' subtracts the resident size before it (runtime, libtorch, models, optimizers). Time is the median of the timed updates, each including its fake-score updates.");
        sb.AppendLine();
        sb.AppendLine("| model | config | batch | fake updates | peak RSS MiB | above baseline MiB | s / update | timed updates |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var u in r.Updates)
            sb.AppendLine($"| {u.Model} | {u.Case} | {u.Batch} | {u.FakeUpdates} | {F(u.PeakRssMiB, "0")} | {F(u.UpdatePeakMiB, "0")} | {F(u.MedianSeconds, "0.0000")} | {u.TimedUpdates} |");
        sb.AppendLine();
        sb.AppendLine("| model | phased K2 / dmd (peak RSS) | phased K4 / dmd | few-step slope MiB per step | few-step N8 / N2 |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var m in r.Memory)
            sb.AppendLine($"| {m.Model} | {F(m.PhasedK2OverDmd)} | {F(m.PhasedK4OverDmd)} | {F(m.FewstepSlopeMiBPerStep, "0.0")} | {F(m.FewstepN8OverN2)} |");
        if (r.Sampling is { } s)
        {
            sb.AppendLine();
            sb.AppendLine("## Sampling speed (glyphs DiT)");
            sb.AppendLine();
            sb.AppendLine("| sampler | network evaluations per image | images / s |");
            sb.AppendLine("|---|---|---|");
            sb.AppendLine($"| teacher: {s.TeacherSteps} Euler steps, CFG {F(s.TeacherCfg, "0.#")} (cond/uncond batched) | {s.TeacherEvaluationsPerImage} | {F(s.TeacherImagesPerSecond, "0.0")} |");
            sb.AppendLine($"| student: {s.StudentSteps} steps, CFG 1 | {s.StudentSteps} | {F(s.StudentImagesPerSecond, "0.0")} |");
            sb.AppendLine();
            sb.AppendLine($"Speed-up: **{F(s.Speedup, "0.0")}×** (batch {s.Batch}).");
        }
        if (r.Efficiency is { } e)
        {
            sb.AppendLine();
            sb.AppendLine("## DiT teacher training step against the matmul peak");
            sb.AppendLine();
            sb.AppendLine($"Batch {e.Batch}: {F(e.StepFlops / 1e9, "0.00")} GFLOP counted (matrix products only, forward + backward = 3 × forward), " +
                          $"median step {F(e.MedianStepSeconds * 1000, "0.0")} ms (forward {F(e.ForwardSeconds * 1000, "0.0")}, backward {F(e.BackwardSeconds * 1000, "0.0")}, AdamW {F(e.OptimizerSeconds * 1000, "0.0")}) → " +
                          $"**{F(e.AchievedGflopPerSecond, "0.0")} GFLOP/s**, {F(100 * e.FractionOfPeak, "0")} % of the float32 matmul peak ({F(e.PeakGflopPerSecond, "0.0")} GFLOP/s, best square product).");
            sb.AppendLine();
            sb.AppendLine("| the model's own matrix products | m × k × n | GFLOP/s | of peak |");
            sb.AppendLine("|---|---|---|---|");
            foreach (var m in e.ModelShapes)
                sb.AppendLine($"| {m.Shape} | {m.M} × {m.K} × {m.N} | {F(m.GflopPerSecond, "0.0")} | {F(100 * m.GflopPerSecond / e.PeakGflopPerSecond, "0")} % |");
            sb.AppendLine();
            sb.AppendLine($"Where the forward time goes (forward without gradient {F(e.ForwardNoGradSeconds * 1000, "0.0")} ms; each part timed alone at the model's shapes, all blocks):");
            sb.AppendLine();
            sb.AppendLine("| part | ms | share | GFLOP/s |");
            sb.AppendLine("|---|---|---|---|");
            foreach (var part in e.ForwardProfile)
                sb.AppendLine($"| {part.Part} | {F(part.Seconds * 1000, "0.0")} | {F(100 * part.Seconds / e.ForwardNoGradSeconds, "0")} % | {(part.Flops > 0 ? F(part.Flops / part.Seconds / 1e9, "0.0") : "—")} |");
        }
        if (r.MemoryGrowth is { } g)
        {
            sb.AppendLine();
            sb.AppendLine("## Memory over a long run");
            sb.AppendLine();
            sb.AppendLine($"{g.Updates} generator updates of {g.Case} on the {g.Model}: resident memory {F(g.StartMiB, "0.0")} MiB after the first tenth, {F(g.EndMiB, "0.0")} MiB at the end; growth over the second half {F(g.SlopeMiBPer1000, "0.00")} MiB per 1000 updates (bench-memory-growth.png). " +
                          $"Tensors alive on the training thread: {g.LiveTensors[Math.Min(g.LiveTensors.Count - 1, g.LiveTensors.Count / 10)]} after the first tenth, {g.LiveTensors[^1]} at the end (TorchSharp's dispose-scope statistics; models, optimizer states and the current phase's fake score).");
        }
        sb.AppendLine();
        sb.AppendLine("## A teacher imported from TorchScript");
        sb.AppendLine();
        if (r.TorchScriptUpdate is { } ts)
        {
            var native = r.Updates.FirstOrDefault(u => u.Model == "mlp" && u.Case == ts.Case);
            sb.AppendLine("The ring8 MLP (128 × 4) written in PyTorch (`benchmarks/torchscript_mlp.py`), imported with `import-teacher`, against the same architecture built natively; phased K = 2 updates, each in a fresh process.");
            sb.AppendLine();
            sb.AppendLine("| teacher | batch | fake updates | s / update | peak RSS MiB |");
            sb.AppendLine("|---|---|---|---|---|");
            if (native is not null) sb.AppendLine($"| native MLP | {native.Batch} | {native.FakeUpdates} | {F(native.MedianSeconds, "0.0000")} | {F(native.PeakRssMiB, "0")} |");
            sb.AppendLine($"| TorchScript MLP | {ts.Batch} | {ts.FakeUpdates} | {F(ts.MedianSeconds, "0.0000")} | {F(ts.PeakRssMiB, "0")} |");
            sb.AppendLine();
            sb.AppendLine($"Imported / native: **{F(r.TorchScriptOverNativeUpdateRatio, "0.00")}×**.");
        }
        else sb.AppendLine($"Skipped: {r.TorchScriptSkipped ?? "not run"}.");
        sb.AppendLine();
        sb.AppendLine("## A model of real size");
        sb.AppendLine();
        if (r.Size.Count > 0)
        {
            var p0 = r.Size[0];
            sb.AppendLine($"The DiT-style transformer of `benchmarks/dit_100m.py` written by PyTorch ({p0.Parameters / 1e6:0.0}M parameters; with LoRA rank 64 on qkv, proj, fc1 and fc2, imported with `--adapters lora_`), batch {p0.Batch}, {p0.FakeUpdates} fake update per generator update, {p0.Threads} threads; peak = the process's resident peak over the updates.");
            sb.AppendLine();
            sb.AppendLine("| case | experts | precision | parameters | trained per expert | s / update | peak RSS MiB | 1024² matmul GFLOP/s |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var m in r.Size)
                sb.AppendLine($"| {m.Case} | {m.Experts} | {m.Precision} | {m.Parameters / 1e6:0.0}M | {m.TrainedParameters / 1e6:0.0}M | {F(m.MedianSeconds, "0.00")} | {F(m.PeakRssMiB, "0")} | {F(m.MatmulGflops, "0")} |");
            SizeMeasurement? Row(string c, string e, string p = "fp32") => r.Size.FirstOrDefault(m => m.Case == c && m.Experts == e && m.Precision == p);
            double Peak(string c, string e, string p = "fp32") => Row(c, e, p)?.PeakRssMiB ?? double.NaN;
            double Seconds(string c, string e, string p = "fp32") => Row(c, e, p)?.MedianSeconds ?? double.NaN;
            sb.AppendLine();
            sb.AppendLine($"LoRA / full peak, phased K = 2: **{F(Peak("phased-K2", "lora") / Peak("phased-K2", "full"), "0.00")}×**; LoRA K = 4 / K = 2: **{F(Peak("phased-K4", "lora") / Peak("phased-K2", "lora"), "0.00")}×**.");
            if (r.Size.Any(m => m.Precision == "bf16"))
                sb.AppendLine($"bf16 / fp32, phased K = 2: peak **{F(Peak("phased-K2", "full", "bf16") / Peak("phased-K2", "full"), "0.00")}×** (full), " +
                              $"**{F(Peak("phased-K2", "lora", "bf16") / Peak("phased-K2", "lora"), "0.00")}×** (LoRA); time per update " +
                              $"**{F(Seconds("phased-K2", "full", "bf16") / Seconds("phased-K2", "full"), "0.00")}×** (full), **{F(Seconds("phased-K2", "lora", "bf16") / Seconds("phased-K2", "lora"), "0.00")}×** (LoRA). " +
                              $"bf16 rows run with oneDNN's ISA cap at {Row("phased-K2", "full", "bf16")?.OneDnnIsa ?? "?"} (its bf16 kernels; the transformer has no convolution).");
        }
        else sb.AppendLine($"Skipped: {r.SizeSkipped ?? "not run"}.");
        sb.AppendLine();
        sb.AppendLine("## Data parallel (phased K = 2, the same global batch)");
        sb.AppendLine();
        if (r.DataParallel.Count > 0)
        {
            sb.AppendLine("Time per generator update on rank 0 (with its fake updates) and the share of it spent in all-reduce (gradients, finiteness and stop votes, checksums).");
            sb.AppendLine();
            sb.AppendLine("| model | ranks × threads | global batch | s / update | updates / s | all-reduce share | transport |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var row in r.DataParallel)
                sb.AppendLine($"| {row.Model} | {row.Ranks} × {row.ThreadsPerRank} | {row.GlobalBatch} | {F(row.MedianSeconds, "0.0000")} | {F(row.UpdatesPerSecond, "0.00")} | {F(100 * row.AllreduceShare, "0.0")} % | {row.Transport} |");
            foreach (var (model, m) in r.Scaling)
            {
                sb.AppendLine();
                sb.AppendLine($"Throughput model for {model} (ranks with their own cores; see ScalingModel): t₁ = {F(m.OneRankSeconds, "0.0000")} s, batch-independent part f = {F(m.FixedSeconds, "0.0000")} s, 2-rank all-reduce A₂ = {F(m.TwoRankAllreduceSeconds, "0.0000")} s.");
                sb.AppendLine();
                sb.AppendLine("| ranks | predicted s / update | speed-up over 1 rank | efficiency |");
                sb.AppendLine("|---|---|---|---|");
                foreach (var point in m.Predictions)
                    sb.AppendLine($"| {point.Ranks} | {F(point.Seconds, "0.0000")} | {F(point.Speedup, "0.00")}× | {F(100 * point.Efficiency, "0")} % |");
            }
        }
        if (r.DataParallelSkipped is { } why) { sb.AppendLine(); sb.AppendLine($"2-rank rows skipped: {why}."); }
        sb.AppendLine();
        sb.AppendLine("## Against PyTorch");
        sb.AppendLine();
        if (r.PyTorch is { Available: true } p)
        {
            sb.AppendLine($"Reference: `benchmarks/pytorch_reference.py` with {p.Python}, torch {p.TorchVersion}, {p.Threads} threads, BLAS: {p.Blas}; environment {p.Environment}.");
            sb.AppendLine();
            sb.AppendLine("| measurement | ours s | PyTorch s | ours / PyTorch |");
            sb.AppendLine("|---|---|---|---|");
            var ours = r.Updates.FirstOrDefault(u => u.Model == "dit" && u.Case == "dmd");
            sb.AppendLine($"| DiT one-step DMD update (with its fake updates) | {F(ours?.MedianSeconds ?? double.NaN, "0.0000")} | {F(p.DmdUpdateSeconds, "0.0000")} | **{F(r.DmdUpdateRatioOursOverPyTorch, "0.00")}** |");
            sb.AppendLine($"| DiT teacher training step | {F(r.Efficiency?.MedianStepSeconds ?? double.NaN, "0.0000")} | {F(p.TrainStepSeconds, "0.0000")} | {F(r.TrainStepRatioOursOverPyTorch, "0.00")} |");
        }
        else sb.AppendLine($"Skipped: {r.PyTorch?.SkippedBecause ?? "not run"}.");
        return sb.ToString();
    }

    /// <summary>Bar chart of peak RSS per configuration and model.</summary>
    public static void MemoryPlot(string path, IReadOnlyList<UpdateMeasurement> updates)
    {
        var plot = new Plot();
        plot.Title("Peak resident memory during generator updates");
        var cases = BenchCase.Standard.Select(c => c.Name).ToList();
        var models = updates.Select(u => u.Model).Distinct().ToList();
        var palette = new[] { Colors.SteelBlue, Colors.OrangeRed };
        var bars = new List<ScottPlot.Bar>();
        for (var m = 0; m < models.Count; m++)
            for (var i = 0; i < cases.Count; i++)
                if (updates.FirstOrDefault(u => u.Model == models[m] && u.Case == cases[i]) is { } u)
                    bars.Add(new ScottPlot.Bar { Position = i * (models.Count + 1) + m, Value = u.PeakRssMiB, FillColor = palette[m % palette.Length] });
        plot.Add.Bars(bars);
        plot.Axes.Bottom.SetTicks(cases.Select((_, i) => i * (models.Count + 1) + (models.Count - 1) / 2.0).ToArray(), cases.ToArray());
        for (var m = 0; m < models.Count; m++) plot.Legend.ManualItems.Add(new LegendItem { LabelText = models[m], FillColor = palette[m % palette.Length] });
        plot.Legend.IsVisible = true;
        plot.YLabel("peak RSS (MiB)");
        plot.Axes.Margins(bottom: 0);
        plot.SavePng(path, 1200, 480);
    }

    public static void GrowthPlot(string path, MemoryGrowthMeasurement g)
    {
        var plot = new Plot();
        plot.Title($"Resident memory over {g.Updates} updates ({g.Case}, {g.Model})");
        var line = plot.Add.ScatterLine(g.AtUpdate.Select(v => (double)v).ToArray(), g.RssMiB.ToArray());
        line.Color = Colors.SteelBlue;
        plot.XLabel("generator updates");
        plot.YLabel("RSS (MiB)");
        plot.Axes.SetLimitsY(0, g.RssMiB.Max() * 1.2);
        plot.SavePng(path, 800, 400);
    }
}
