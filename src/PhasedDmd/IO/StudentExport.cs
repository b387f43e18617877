using PhasedDmd.Generators;
using PhasedDmd.Models;
using TorchSharp;
using TorchSharp.PyBridge;

namespace PhasedDmd.IO;

/// <summary>
/// <c>student.json</c> of an exported student (snake_case keys): what a sampler outside the project
/// needs to run it. Step i goes from <see cref="StepTimes"/>[i] to [i + 1] with expert
/// <see cref="StepExperts"/>[i] (an index into <see cref="Experts"/>); each expert maps (x, t · time_scale[, cond])
/// to the <see cref="Prediction"/> under <see cref="Schedule"/>.
/// </summary>
public sealed record StudentExportManifest
{
    public string Format { get; init; } = "phased-dmd-student";
    public int Version { get; init; } = 1;
    public required string Method { get; init; }
    /// <summary>The experts' architecture: the model card's network (kind torchscript, mlp, dit, …).</summary>
    public required ModelSpec Network { get; init; }
    public required long[] SampleShape { get; init; }
    public required string Schedule { get; init; }
    /// <summary>What an expert returns: velocity (ε − x_0 in the flow convention), x0 or epsilon.</summary>
    public required string Prediction { get; init; }
    /// <summary>The time an expert is given is the noise level t ∈ [0, 1] times this.</summary>
    public required double TimeScale { get; init; }
    /// <summary>euler, or renoise (predict x̂_0 and re-noise it to the next time with fresh noise).</summary>
    public required string Solver { get; init; }
    /// <summary>t_0 = 1 &gt; t_1 &gt; … &gt; t_N = 0.</summary>
    public required double[] StepTimes { get; init; }
    public required int[] StepExperts { get; init; }
    /// <summary>The experts' files, phase 1 (high noise) first.</summary>
    public required string[] Experts { get; init; }
    /// <summary>
    /// LoRA students: each expert's adapters in the PEFT / diffusers layout, a folder per expert holding
    /// <c>adapter_model.safetensors</c> and <c>adapter_config.json</c> (to load onto the teacher); null for full experts.
    /// </summary>
    public string[]? Adapters { get; init; }
    /// <summary>Interior phase boundary times s_1 … s_{K−1}.</summary>
    public required double[] PhaseBoundaries { get; init; }
    /// <summary>null for an unconditional student.</summary>
    public ExportedConditions? Conditions { get; init; }
    /// <summary>Students sample with guidance 1: the teacher's guidance is distilled into them.</summary>
    public double Guidance { get; init; } = 1;
    /// <summary>The student model directory's weights hash.</summary>
    public required string SourceSha256 { get; init; }
}

/// <summary>
/// The conditions an exported student takes: <c>file</c> (rows of <see cref="File"/>'s <c>cond</c>, named by
/// <see cref="Names"/>), <c>classes</c> (class ids 0 … count − 1, drawn with <see cref="Weights"/>), or
/// <c>prompts</c> (token ids of a procedural task's vocabulary).
/// </summary>
public sealed record ExportedConditions(string Kind, int Count, string? File = null, string[]? Names = null, bool HasNull = false,
                                        double[]? Weights = null, string? Task = null);

/// <summary>
/// <c>phased-dmd export</c>: a student as files PyTorch reads. TorchScript experts are saved as
/// TorchScript (<c>expert_K.pt</c>, the scripted module with the expert's trained weights); experts of
/// native networks (MLP, DiT, …) as safetensors (<c>expert_K.safetensors</c>, LoRA merged, keys the
/// module paths of the network's parameters, e.g. <c>layers.0.weight</c>). A LoRA student's adapters are also
/// written unmerged in the PEFT layout (<c>expert_K_lora/</c>), to load onto the teacher in PyTorch. Beside them
/// <c>student.json</c> and <c>sample_student.py</c>, a PyTorch-only reference sampler (TorchScript and
/// MLP students). The directory is written under a temporary name and renamed at the end, so an
/// interrupted export leaves nothing half-written.
/// </summary>
public static class StudentExport
{
    public const string ManifestFile = "student.json";
    public const string SamplerFile = "sample_student.py";

    public static StudentExportManifest Export(string studentDir, string outDir)
    {
        if (File.Exists(Path.Combine(outDir, ManifestFile)) || (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any()))
            throw new InputException($"out: {outDir} is not empty; export into a new directory");
        var (card, loaded) = StudentDirectory.Load(studentDir);
        var full = Path.GetFullPath(outDir);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.export-{Environment.ProcessId}");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        try
        {
            var adapters = loaded.Spec.Experts == ExpertKind.Lora ? WriteAdapters(loaded, temp) : null;
            using var student = loaded.Spec.Experts == ExpertKind.Lora ? loaded.Merged(card.Network) : loaded;
            if (!ReferenceEquals(student, loaded)) loaded.Dispose();
            var experts = new string[student.ExpertCount];
            for (var k = 1; k <= student.ExpertCount; k++)
            {
                var expert = student.Expert(k);
                if (expert is TorchScriptVelocityModel scripted)
                {
                    experts[k - 1] = $"expert_{k}.pt";
                    torch.jit.save(scripted.Script, Path.Combine(temp, experts[k - 1]));
                }
                else
                {
                    experts[k - 1] = $"expert_{k}.safetensors";
                    Safetensors.SaveStateDict(Path.Combine(temp, experts[k - 1]), expert.state_dict());
                }
            }
            var conditions = Conditions(card, temp);
            var layout = student.Layout;
            var manifest = new StudentExportManifest
            {
                Method = card.Student!.Method,
                Network = card.Network,
                SampleShape = card.Network.SampleShape,
                Schedule = card.Schedule,
                Prediction = Diffusion.Predictions.Name(card.Network.Output),
                TimeScale = card.Network.InputTimeScale,
                Solver = student.Spec.Solver switch { RolloutSolver.Euler => "euler", RolloutSolver.Ddim => "ddim", _ => "renoise" },
                StepTimes = layout.Times,
                StepExperts = [.. Enumerable.Range(0, layout.Steps).Select(i => layout.PhaseOfStep(i) - 1)],
                Experts = experts,
                Adapters = adapters,
                PhaseBoundaries = [.. Enumerable.Range(1, layout.Phases - 1).Select(layout.BoundaryTime)],
                Conditions = conditions,
                SourceSha256 = ModelDirectory.Sha256(Path.Combine(studentDir, ModelDirectory.WeightsFile)),
            };
            Json.WriteMetrics(Path.Combine(temp, ManifestFile), manifest);
            File.WriteAllText(Path.Combine(temp, SamplerFile), SamplerSource());
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(Path.Combine(temp, SamplerFile), File.GetUnixFileMode(Path.Combine(temp, SamplerFile)) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            if (Directory.Exists(full)) Directory.Delete(full);   // empty (checked above)
            Directory.Move(temp, full);
            return manifest;
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    /// <summary>The PEFT folder of expert k's adapters.</summary>
    public static string AdapterFolder(int k) => $"expert_{k}_lora";

    /// <summary>Each expert's adapters as PEFT writes them: <c>adapter_model.safetensors</c> and <c>adapter_config.json</c>.</summary>
    private static string[] WriteAdapters(StudentGenerator student, string dir)
    {
        var folders = new string[student.ExpertCount];
        for (var k = 1; k <= student.ExpertCount; k++)
        {
            var lora = student.Adapters(k)!;
            folders[k - 1] = AdapterFolder(k);
            var folder = Directory.CreateDirectory(Path.Combine(dir, folders[k - 1])).FullName;
            Safetensors.SaveStateDict(Path.Combine(folder, "adapter_model.safetensors"), lora.PeftStateDict());
            File.WriteAllText(Path.Combine(folder, "adapter_config.json"), System.Text.Json.JsonSerializer.Serialize(lora.PeftConfig(), new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        }
        return folders;
    }

    /// <summary>The reference sampler's source (shipped inside the library).</summary>
    public static string SamplerSource()
    {
        using var stream = typeof(StudentExport).Assembly.GetManifestResourceStream("PhasedDmd.sample_student.py")
            ?? throw new InvalidOperationException("sample_student.py is missing from the assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static ExportedConditions? Conditions(ModelCard card, string dir)
    {
        if (card.Network.LoadConditions() is { } file)
        {
            using (file)
            {
                File.Copy(card.Network.ConditionsPath!, Path.Combine(dir, ConditionsFile.FileName));
                if (card.Network.NamesPath is { } names) File.Copy(names, Path.Combine(dir, ConditionsFile.NamesFileName));
                return new ExportedConditions("file", file.Count, ConditionsFile.FileName, [.. file.Names], file.Null is not null);
            }
        }
        if (card.Network.ClassCount > 0)
            return new ExportedConditions("classes", card.Network.ClassCount, Weights: card.Task.Mixture?.Weights);
        if (Data.TaskRegistry.TryFind(card.Task.Name)?.Procedural is { } prompts)
            return new ExportedConditions("prompts", prompts.Vocabulary.Size, Task: card.Task.Name);
        return null;
    }
}
