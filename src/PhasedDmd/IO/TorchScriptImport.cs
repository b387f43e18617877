using PhasedDmd.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.IO;

/// <summary>What <c>import-teacher</c> was asked to import (recorded as <c>import.json</c> in the model directory).</summary>
public sealed record TorchScriptImportOptions
{
    public required string TorchScript { get; init; }
    public required string Prediction { get; init; }
    public required long[] SampleShape { get; init; }
    public double TimeScale { get; init; } = 1;
    public string Schedule { get; init; } = "flow";
    public double Shift { get; init; } = 1;
    public int Steps { get; init; } = 40;
    public double Cfg { get; init; } = 1;
    /// <summary>SHA-256 of the imported file (filled in by the import).</summary>
    public string? Sha256 { get; init; }
}

/// <summary>
/// Turns a TorchScript file into a teacher's model directory, after checking it: the file loads as
/// TorchScript, <c>forward(x, t)</c> runs on a small batch, its output has the sample shape and is
/// finite. Any failure is an <see cref="InputException"/> naming the problem, and nothing is written.
/// </summary>
public static class TorchScriptImport
{
    public const string ImportFile = "import.json";

    public static ModelCard Import(TorchScriptImportOptions o, string outDir)
    {
        ModelDirectory.RequireNoModelIn(outDir);
        if (!TorchScriptSpec.Predictions.Contains(o.Prediction))
            throw new InputException($"prediction: expected velocity, x0 or epsilon (got '{o.Prediction}')");
        if (o.SampleShape.Length == 0 || o.SampleShape.Any(d => d <= 0))
            throw new InputException($"sample-shape: expected positive sizes D1[,D2,…] (got [{string.Join(",", o.SampleShape)}])");
        if (!(o.TimeScale > 0)) throw new InputException($"time-scale: must be > 0 (got {o.TimeScale})");
        if (!(o.Shift > 0)) throw new InputException($"shift: must be > 0 (got {o.Shift})");
        if (o.Steps < 1) throw new InputException($"steps: must be ≥ 1 (got {o.Steps})");
        if (o.Cfg != 1) throw new InputException($"cfg: an unconditional teacher samples without guidance (got {o.Cfg}); conditional TorchScript teachers are not supported yet");
        try { Diffusion.NoiseSchedule.FromName(o.Schedule); }
        catch (ArgumentException e) { throw new InputException($"schedule: {e.Message}"); }

        var source = Path.GetFullPath(o.TorchScript);
        var probe = new TorchScriptSpec(Path.GetFileName(source), o.SampleShape, o.Prediction, o.TimeScale, o.Schedule) { Directory = Path.GetDirectoryName(source) };
        using (var model = new TorchScriptVelocityModel(probe)) Check(model, o.SampleShape);

        var card = new ModelCard
        {
            Role = "teacher",
            Schedule = o.Schedule,
            Task = new TaskSpec("imported"),
            Network = probe with { Script = TorchScriptSpec.FileName, Directory = Path.GetFullPath(outDir) },
            Sampling = new SamplingDefaults(o.Steps, "euler", 1.0, o.Shift),
        };
        Directory.CreateDirectory(outDir);
        AtomicFile.Write(Path.Combine(outDir, TorchScriptSpec.FileName), temp => File.Copy(source, temp, overwrite: true));
        using (var model = card.Network.Build()) ModelDirectory.Save(outDir, card, model);
        Json.Write(Path.Combine(outDir, ImportFile), o with { TorchScript = source, Sha256 = ModelDirectory.Sha256(source) });
        return card;
    }

    /// <summary>Runs the module on a batch of 4: signature, output shape and finiteness.</summary>
    private static void Check(TorchScriptVelocityModel model, long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        using var g = new Generator(0);
        var x = torch.randn([4, .. shape], generator: g);
        var t = torch.rand([4], generator: g) * 0.8 + 0.1;
        Tensor v;
        try { v = model.Forward(x, t, null); }
        catch (Exception e) when (e is not InputException)
        {
            throw new InputException($"torchscript: forward(x, t) failed on x [4, {string.Join(", ", shape)}] and t [4] — the module must take (x, t) and return one tensor ({e.Message.Split('\n', 2)[0].Trim()})");
        }
        if (!v.shape.SequenceEqual(x.shape))
            throw new InputException($"torchscript: the output has shape [{string.Join(", ", v.shape)}], not the sample shape [4, {string.Join(", ", shape)}]");
        if (!v.isfinite().all().item<bool>())
            throw new InputException("torchscript: the output on a test batch is not finite (NaN or Inf)");
    }
}
