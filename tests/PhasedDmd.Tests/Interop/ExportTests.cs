using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using PhasedDmd.Diffusion;
using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Sampling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Interop;

/// <summary>Debian's PyTorch (python3-torch under /usr/bin/python3), which .ci/run installs when it is missing.</summary>
public sealed class PythonTorchFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";
    private static readonly Lazy<bool> Available = new(() =>
    {
        if (!File.Exists(Python)) return false;
        using var p = Process.Start(new ProcessStartInfo(Python, ["-c", "import torch"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit();
        return p.ExitCode == 0;
    });

    public PythonTorchFactAttribute()
    {
        if (!Available.Value) Skip = "Debian's python3-torch is not installed (apt-get install python3-torch libopenblas0-pthread)";
    }
}

/// <summary>
/// Students of the TorchScript fixtures and of a native MLP, distilled briefly, then exported: the C# path
/// (import, distil, export through the library), what student.json says, refusals, and the round trip
/// against real PyTorch: sample_student.py and phased-dmd sample, on the same noise, agree within 1e-4 · max(1, |x|),
/// for velocity, x0, ε and v-prediction students, on flow matching and on a discrete VP schedule.
/// </summary>
public sealed class ExportFixture
{
    public string Dir { get; } = TestUtil.TempDir("pdmd-export");
    public string Student(string name) => Path.Combine(Dir, name);
    public string Export(string name) => Path.Combine(Dir, name + "-export");
    public const string Fixtures = "tests/PhasedDmd.Tests/Interop/fixtures";
    public static readonly string[] Names = ["x0", "mlp-lora", "conditional", "epsilon", "sd-v", "script-lora"];
    public string ScriptLoraTeacher => Path.Combine(Dir, "teacher-script-lora");

    public ExportFixture()
    {
        // The x0 Gaussian predictor with timesteps = t·1000: the export must carry the conversion and the time scale.
        var fixtures = Path.Combine(TestUtil.RepoRoot(), Fixtures);
        var teacher = Path.Combine(Dir, "teacher-x0");
        TorchScriptImport.Import(new TorchScriptImportOptions
        {
            TorchScript = Path.Combine(fixtures, "gaussian_x0.pt"), Prediction = "x0", SampleShape = [2], TimeScale = 1000,
        }, teacher);
        Distil(teacher, "x0", new DistillConfig { Method = "phased", Steps = 4, Phases = 2, Shift = 3 });
        Distil(Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "ring8"), "mlp-lora",
               new DistillConfig { Method = "phased", Steps = 4, Phases = 2, Experts = ExpertKind.Lora });
        var conditional = Path.Combine(Dir, "teacher-conditional");
        TorchScriptImport.Import(new TorchScriptImportOptions
        {
            TorchScript = ConditionalFixture.File("teacher.pt"), Prediction = "velocity", SampleShape = [2],
            Conditions = ConditionalFixture.File("conditions.safetensors"), Names = ConditionalFixture.File("names.txt"), Cfg = 1.5,
        }, conditional);
        Distil(conditional, "conditional", new DistillConfig { Method = "sgts", Steps = 4, Phases = 1 });
        // An ε predictor on flow matching, and a v-prediction one on Stable Diffusion's discrete schedule (DDIM steps).
        var epsilon = Path.Combine(Dir, "teacher-epsilon");
        TorchScriptImport.Import(new TorchScriptImportOptions
        {
            TorchScript = Path.Combine(fixtures, "gaussian_epsilon.pt"), Prediction = "epsilon", SampleShape = [2], TimeScale = 1000,
        }, epsilon);
        Distil(epsilon, "epsilon", new DistillConfig { Method = "phased", Steps = 4, Phases = 2 });
        var sd = Path.Combine(Dir, "teacher-sd-v");
        TorchScriptImport.Import(new TorchScriptImportOptions
        {
            TorchScript = Path.Combine(fixtures, "mixture", "sd_v_prediction.pt"), SampleShape = [2],
            SchedulerConfig = Path.Combine(fixtures, "mixture", "scheduler_config_v_prediction.json"),
        }, sd);
        Distil(sd, "sd-v", DistillConfig.ForTeacher(ModelDirectory.ReadCard(sd)) with { Method = "phased", Steps = 4, Phases = 2 });
        // LoRA put into the script by its author (B zero, α = 4, r = 2), declared at import: PEFT export of declared adapters.
        TorchScriptImport.Import(new TorchScriptImportOptions
        {
            TorchScript = Path.Combine(fixtures, "gaussian_lora.pt"), Prediction = "velocity", SampleShape = [2], TimeScale = 1000, Adapters = "lora_", AdapterAlpha = 4,
        }, ScriptLoraTeacher);
        Distil(ScriptLoraTeacher, "script-lora", new DistillConfig { Method = "phased", Steps = 4, Phases = 2, Experts = ExpertKind.Lora });
        foreach (var name in Names) StudentExport.Export(Student(name), Export(name));
    }

    private void Distil(string teacherDir, string name, DistillConfig config)
    {
        var (card, teacher) = ModelDirectory.Load(teacherDir);
        var c = config with { IterationsPerPhase = 15, BatchSize = 64, FakeUpdatesPerGeneratorUpdate = 2, LogEvery = 5, Threads = 1, TeacherCfg = card.Sampling.Cfg };
        using (teacher) new Distiller(c, card, teacher).Run(Student(name));
    }
}

[Collection(SerialCollection.Name)]
public class ExportTests(ExportFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ExportFixture>
{
    [Fact]
    public void Student_json_gives_the_step_times_the_expert_of_each_step_and_the_prediction()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Export("x0"), StudentExport.ManifestFile)));
        var root = doc.RootElement;
        Assert.Equal("phased-dmd-student", root.GetProperty("format").GetString());
        var times = root.GetProperty("step_times").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var grid = Timesteps.Grid(4, 3);
        Assert.Equal(5, times.Length);
        for (var i = 0; i < 5; i++) Assert.Equal(grid[i], times[i], 12);
        Assert.Equal([0, 0, 1, 1], root.GetProperty("step_experts").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(grid[2], root.GetProperty("phase_boundaries")[0].GetDouble(), 12);
        Assert.Equal(["expert_1.pt", "expert_2.pt"], root.GetProperty("experts").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("x0", root.GetProperty("prediction").GetString());
        Assert.Equal(1000, root.GetProperty("time_scale").GetDouble());
        Assert.Equal("flow", root.GetProperty("schedule").GetString());
        Assert.Equal("euler", root.GetProperty("solver").GetString());
        Assert.Equal("torchscript", root.GetProperty("network").GetProperty("kind").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("conditions").ValueKind);

        using var conditional = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Export("conditional"), StudentExport.ManifestFile)));
        var c = conditional.RootElement.GetProperty("conditions");
        Assert.Equal("file", c.GetProperty("kind").GetString());
        Assert.Equal(ConditionalFixture.Names, c.GetProperty("names").EnumerateArray().Select(e => e.GetString()));
        Assert.True(c.GetProperty("has_null").GetBoolean());
        Assert.True(File.Exists(Path.Combine(fixture.Export("conditional"), ConditionsFile.FileName)));
        Assert.Equal([0, 0, 0, 0], conditional.RootElement.GetProperty("step_experts").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void An_exported_torchscript_expert_is_the_trained_expert_not_the_teacher()
    {
        var (_, student) = StudentDirectory.Load(fixture.Student("x0"));
        using (student)
        using (var exported = torch.jit.load<Tensor>(Path.Combine(fixture.Export("x0"), "expert_2.pt")))
        using (var teacher = torch.jit.load<Tensor>(Path.Combine(TestUtil.RepoRoot(), ExportFixture.Fixtures, "gaussian_x0.pt")))
        using (var scope = torch.NewDisposeScope())
        using (var _ = torch.no_grad())
        {
            using var g = new Generator(1);
            var x = torch.randn([32, 2], generator: g);
            var t = torch.rand([32], generator: g) * 1000;
            var own = ((TorchScriptVelocityModel)student.Expert(2)).Script.call(x, t);
            Assert.True(TestUtil.MaxAbs((Tensor)exported.call(x, t), (Tensor)own) < 1e-6);
            Assert.True(TestUtil.MaxAbs((Tensor)exported.call(x, t), (Tensor)teacher.call(x, t)) > 1e-4, "training moved the expert away from the teacher");
        }
    }

    [Fact]
    public void A_native_students_experts_are_merged_weights_with_the_networks_key_names()
    {
        var weights = TorchSharp.PyBridge.Safetensors.LoadStateDict(Path.Combine(fixture.Export("mlp-lora"), "expert_1.safetensors"));
        var (card, student) = StudentDirectory.Load(fixture.Student("mlp-lora"));
        using (student)
        using (var merged = student.Merged(card.Network))
        {
            var spec = (MlpSpec)card.Network;
            Assert.Equal(Enumerable.Range(0, spec.Layers).SelectMany(i => new[] { $"layers.{i}.bias", $"layers.{i}.weight" }).Order(), weights.Keys.Order());
            foreach (var (name, p) in merged.Expert(1).named_parameters())
                Assert.True(TestUtil.MaxAbs(weights[name], p) < 1e-7, name);
        }
    }

    [Fact]
    public void Export_refuses_a_teacher_and_a_directory_that_is_not_empty_and_keeps_what_is_there()
    {
        var root = TestUtil.TempDir();
        var taken = Path.Combine(root, "taken");
        Directory.CreateDirectory(taken);
        File.WriteAllText(Path.Combine(taken, "notes.txt"), "keep me");
        var (code, err) = Reliability.ResumeTests.Cli(null, "export", "--model", fixture.Student("x0"), "--out", taken);
        Assert.Equal(2, code);
        Assert.Contains("is not empty", err);
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(taken, "notes.txt")));
        Assert.Single(Directory.GetFileSystemEntries(taken));
        var output = Path.Combine(root, "teacher-export");
        (code, err) = Reliability.ResumeTests.Cli(null, "export", "--model", Path.Combine(fixture.Dir, "teacher-x0"), "--out", output);
        Assert.Equal(2, code);
        Assert.Contains("is not a student", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(Directory.Exists(output));
        Assert.Empty(Directory.GetDirectories(root, ".*export*"));
    }

    [PythonTorchFact]
    public void Sampled_by_PyTorch_an_exported_student_equals_phased_dmd_sample_on_the_same_noise()
    {
        var root = TestUtil.TempDir();
        var noise = Path.Combine(root, "noise.csv");
        using (var g = new Generator(42))
        using (var n = torch.randn([300, 2], generator: g))
            PhasedDmd.Cli.Commands.SampleCommand.WriteCsv(noise, TensorExport.ToMatrix(n));
        foreach (var (name, prompts) in new[] { ("x0", Array.Empty<string>()), ("mlp-lora", []), ("conditional", ["southwest,northeast"]), ("epsilon", []), ("sd-v", []), ("script-lora", []) })
        {
            var ours = Path.Combine(root, $"{name}-csharp.csv");
            var theirs = Path.Combine(root, $"{name}-pytorch.csv");
            var promptArgs = prompts.SelectMany(p => new[] { "--prompt", p }).ToArray();
            var (code, err) = Reliability.ResumeTests.Cli(null, ["sample", "--model", fixture.Student(name), "--noise", noise, "--out", ours, .. promptArgs]);
            Assert.True(code == 0, err);
            var (pyCode, pyOut) = RunPython(Path.Combine(fixture.Export(name), StudentExport.SamplerFile), ["--noise", noise, "--out", theirs, .. promptArgs]);
            Assert.True(pyCode == 0, pyOut);
            using var a = NoiseCsv.Read(ours, [2]);
            using var b = NoiseCsv.Read(theirs, [2]);
            Assert.Equal(prompts.Length == 0 ? 300 : 600, b.shape[0]);
            Assert.Equal(a.shape, b.shape);
            // The contract (docs/reliability.md): |Δ| ≤ 1e-4 · max(1, |x|) element by element.
            var worst = ((a - b).abs() / a.abs().clamp_min(1)).max().item<float>();
            output.WriteLine($"{name}: max |Δ| {TestUtil.MaxAbs(a, b):G3}, max |Δ| / max(1, |x|) {worst:G3}");
            Assert.True(worst <= 1e-4, $"{name}: max |Δ| / max(1, |x|) = {worst.ToString("G3", CultureInfo.InvariantCulture)}");
        }
    }

    [PythonTorchFact]
    public void Peft_adapters_applied_to_the_teacher_in_PyTorch_give_the_exported_experts()
    {
        var script = Path.Combine(TestUtil.RepoRoot(), "tests", "PhasedDmd.Tests", "Interop", "apply_peft.py");
        foreach (var (name, teacher) in new[] { ("mlp-lora", Path.Combine(TestUtil.RepoRoot(), "assets", "teachers", "ring8")), ("script-lora", fixture.ScriptLoraTeacher) })
        {
            var folder = Path.Combine(fixture.Export(name), StudentExport.AdapterFolder(2));
            Assert.True(File.Exists(Path.Combine(folder, "adapter_model.safetensors")) && File.Exists(Path.Combine(folder, "adapter_config.json")), name);
            var (code, printed) = RunPython(script, [fixture.Export(name), teacher]);
            output.WriteLine($"{name}: {printed.Trim()}");
            Assert.True(code == 0, printed);
            Assert.Equal(2, printed.Split('\n').Count(l => l.StartsWith("expert ")));
        }
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Export("script-lora"), StudentExport.AdapterFolder(1), "adapter_config.json")));
        Assert.Equal(4, config.RootElement.GetProperty("lora_alpha").GetDouble());
        Assert.Equal(2, config.RootElement.GetProperty("r").GetInt32());
        Assert.Equal(["hidden", "out"], config.RootElement.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()));
    }

    [PythonTorchFact]
    public void The_reference_sampler_refuses_a_prompt_of_an_unconditional_student_with_exit_code_two()
    {
        var (code, output) = RunPython(Path.Combine(fixture.Export("x0"), StudentExport.SamplerFile), ["--prompt", "0", "--out", Path.Combine(TestUtil.TempDir(), "x.csv")]);
        Assert.Equal(2, code);
        Assert.Contains("this student is unconditional", output);
    }

    internal static (int Code, string Output) RunPython(string script, string[] args)
    {
        var info = new ProcessStartInfo(PythonTorchFactAttribute.Python) { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(script);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["OMP_NUM_THREADS"] = "1";
        info.Environment["OPENBLAS_NUM_THREADS"] = "1";
        using var p = Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }
}
