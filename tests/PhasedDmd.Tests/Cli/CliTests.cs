using PhasedDmd.Cli;
using PhasedDmd.Training;
using Xunit;

namespace PhasedDmd.Tests.Cli;

/// <summary>A tiny teacher trained once through the CLI, shared by the command tests.</summary>
public sealed class TinyTeacherFixture
{
    public string Dir { get; } = TestUtil.TempDir("pdmd-cli");
    public string ModelDir => Path.Combine(Dir, "teacher");
    public string ConfigFile => Path.Combine(Dir, "tiny.json");

    public TinyTeacherFixture()
    {
        PhasedDmd.IO.Json.Write(ConfigFile, new TeacherConfig { Task = "gmm1d", Hidden = 32, Layers = 3, Iterations = 60, BatchSize = 128, LogEvery = 20 });
        var code = PhasedDmdApp.Run(["train-teacher", "--config", ConfigFile, "--seed", "3", "--out", ModelDir]);
        if (code != 0) throw new InvalidOperationException($"train-teacher exited with {code}");
    }
}

[Collection(SerialCollection.Name)]
public class CliTests(TinyTeacherFixture teacher) : IClassFixture<TinyTeacherFixture>
{
    private static (int Code, string Stderr) Run(params string[] args) => TestUtil.RunCli(args);

    /// <summary>Option descriptions are Spectre markup: a stray bracket (an interval, <c>cuda[:N]</c>) used to break the help page.</summary>
    public static TheoryData<string> CommandNames => [.. PhasedDmdApp.Commands.Where(c => !c.Hidden).Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CommandNames))]
    public void Every_command_prints_its_help(string command)
    {
        var previous = Console.Out;
        var output = new StringWriter();
        Console.SetOut(output);
        int code;
        string err;
        try { (code, err) = Run(command, "--help"); }
        finally { Console.SetOut(previous); }
        Assert.True(code == 0, $"{command} --help: exit {code}: {err}");
        Assert.DoesNotContain("error", err, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Root_help_and_version_exit_cleanly_and_the_version_is_the_packages()
    {
        Assert.Equal(0, Run("--help").Code);
        Assert.Equal(0, Run("--version").Code);
        var informational = typeof(PhasedDmdApp).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;
        Assert.StartsWith("0.1.0", informational);
        Assert.Contains("few-step student", PhasedDmd.Cli.Support.PhasedDmdHelp.About);
    }

    [Fact]
    public void Train_teacher_records_the_effective_config_with_cli_overrides()
    {
        var saved = PhasedDmd.IO.Json.Read<TeacherConfig>(Path.Combine(teacher.ModelDir, "run_config.json"), "config");
        Assert.Equal(3, saved.Seed);          // from --seed
        Assert.Equal(60, saved.Iterations);   // from --config
        Assert.Equal("gmm1d", saved.Task);
    }

    [Fact]
    public void Sample_from_a_noise_file_equals_sampling_from_the_seeds_own_noise_row_by_row()
    {
        var dir = TestUtil.TempDir();
        var seeded = Path.Combine(dir, "seeded.csv");
        Assert.Equal(0, Run("sample", "--model", teacher.ModelDir, "--n", "50", "--seed", "4", "--out", seeded).Code);
        // The noise the seed draws (ModelSampling draws it first from the seed's generator), written reversed.
        float[] z;
        using (var g = Runtime.NewGenerator(4))
        using (var noise = TorchSharp.torch.randn([50, 1], generator: g)) z = noise.data<float>().ToArray();
        var noiseFile = Path.Combine(dir, "noise.csv");
        File.WriteAllLines(noiseFile, ["x", .. z.Reverse().Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))]);
        var fromNoise = Path.Combine(dir, "from-noise.csv");
        var (code, err) = Run("sample", "--model", teacher.ModelDir, "--noise", noiseFile, "--out", fromNoise);
        Assert.True(code == 0, err);
        static double[] Rows(string f) => [.. File.ReadAllLines(f).Skip(1).Select(l => double.Parse(l, System.Globalization.CultureInfo.InvariantCulture))];
        var a = Rows(seeded).Reverse().ToArray();
        var b = Rows(fromNoise);
        Assert.Equal(50, b.Length);
        Assert.True(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)) < 1e-6, "sampling from the written noise differs from sampling from the seed");

        File.WriteAllLines(noiseFile, ["0.5", "0.1,0.2"]);
        (code, err) = Run("sample", "--model", teacher.ModelDir, "--noise", noiseFile, "--out", Path.Combine(dir, "bad.csv"));
        Assert.Equal(2, code);
        Assert.Contains("line 2 has 2 values", err);
    }

    [Fact]
    public void Sample_writes_csv_and_png_and_accepts_dash_dash_n()
    {
        var csv = Path.Combine(teacher.Dir, "s.csv");
        var (code, err) = Run("sample", "--model", teacher.ModelDir, "--n", "300", "--steps", "8", "--solver", "heun", "--out", csv);
        Assert.True(code == 0, err);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("x", lines[0]);
        Assert.Equal(301, lines.Length);
        Assert.True(new FileInfo(Path.ChangeExtension(csv, ".png")).Length > 1000);
    }

    [Fact]
    public void Eval_writes_the_metric_keys()
    {
        var json = Path.Combine(teacher.Dir, "m.json");
        var (code, err) = Run("eval", "--model", teacher.ModelDir, "--n", "500", "--out", json);
        Assert.True(code == 0, err);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        foreach (var key in new[] { "mode_coverage", "weight_tv", "off_mode_fraction", "mmd", "mmd_bandwidth", "mean_log_likelihood" })
            Assert.True(doc.RootElement.TryGetProperty(key, out _), key);
    }

    public static TheoryData<string[], string> BadInputs => new()
    {
        { ["train-teacher", "--task", "nope", "--out", "OUT"], "unknown task 'nope'" },
        { ["train-teacher", "--task", "mixture", "--out", "OUT"], "needs --mixture" },
        { ["train-teacher", "--task", "mixture", "--mixture", "MALFORMED", "--out", "OUT"], "malformed JSON" },
        { ["train-teacher", "--task", "mixture", "--mixture", "ZEROWEIGHTS", "--out", "OUT"], "sum to a positive" },
        { ["train-teacher", "--task", "mixture", "--mixture", "MISSING", "--out", "OUT"], "mixture file not found" },
        { ["train-teacher", "--iterations", "-5", "--out", "OUT"], "iterations:" },
        { ["train-teacher", "--config", "MALFORMED", "--out", "OUT"], "is malformed" },
        { ["train-teacher", "--task", "ring8"], "--out DIR is required" },
        { ["train-teacher", "--iterations", "many", "--out", "OUT"], "--iterations: 'many' is not a valid value" },
        { ["sample", "--model", "MISSING", "--out", "OUT"], "model directory not found" },
        { ["eval", "--model", "MISSING", "--out", "OUT"], "model directory not found" },
        { ["sample", "--model", "MODEL", "--solver", "rk45", "--out", "OUT"], "unknown solver 'rk45'" },
        { ["sample", "--model", "MODEL", "--n", "0", "--out", "OUT"], "--n: must be" },
        { ["frobnicate"], "frobnicate" },
        { ["distill", "--teacher", "MODEL", "--method", "magic", "--out", "OUT"], "unknown method 'magic'" },
        { ["distill", "--teacher", "MODEL", "--method", "dmd", "--steps", "4", "--out", "OUT"], "dmd is a one-step method" },
        { ["distill", "--teacher", "MODEL", "--method", "sgts", "--phases", "2", "--out", "OUT"], "has a single expert" },
        { ["distill", "--teacher", "MODEL", "--steps", "4", "--phases", "3", "--out", "OUT"], "do not split evenly" },
        { ["distill", "--teacher", "MODEL", "--boundaries", "0.6", "--out", "OUT"], "not an interior point" },
        { ["distill", "--teacher", "MODEL", "--boundaries", "0.5,abc", "--out", "OUT"], "'abc' is not a number" },
        { ["distill", "--teacher", "MODEL", "--lr", "-1", "--out", "OUT"], "generatorLearningRate: must be a positive number" },
        { ["distill", "--teacher", "MODEL", "--interval", "sideways", "--out", "OUT"], "--interval: unknown value 'sideways'" },
        { ["distill", "--teacher", "MODEL", "--experts", "half", "--out", "OUT"], "--experts: unknown value 'half'" },
        { ["distill", "--teacher", "MODEL", "--experts", "lora", "--lora-rank", "0", "--out", "OUT"], "loraRank: must be ≥ 1" },
        { ["distill", "--teacher", "MODEL", "--iterations-per-phase", "0", "--out", "OUT"], "iterationsPerPhase: must be ≥ 1" },
        { ["distill", "--teacher", "MISSING", "--out", "OUT"], "model directory not found" },
        { ["distill", "--teacher", "MODEL", "--resume", "OUT"], "saved config of the run to resume not found" },
        { ["distill", "--teacher", "MODEL", "--resume", "MODEL", "--out", "OUT"], "--resume continues in place" },
        { ["train-teacher", "--resume", "OUT"], "saved config of the run to resume not found" },
        { ["toy1d", "--boundary", "1.5", "--out", "OUT"], "boundary: must be in (0, 1)" },
        { ["toy1d", "--mixture", "RING", "--out", "OUT"], "must be one-dimensional" },
        { ["distill", "--teacher", "MODEL", "--wibble", "3", "--out", "OUT"], "wibble" },
        { ["distill", "--teacher", "MODEL", "--iterations-per-phase", "1", "--out", "AFILE/sub"], "cannot use that path" },
        { ["train-teacher", "--config", "UNKNOWNKEY", "--out", "OUT"], "iterashuns" },
        { ["train-teacher", "--task", "glyphs", "--width", "30", "--out", "OUT"], "width: must be ≥ 8 and divisible by heads" },
        { ["train-teacher", "--task", "glyphs", "--data-std", "-1", "--out", "OUT"], "dataStd: must be 0 (off) or positive" },
        { ["eval", "--model", "MODEL", "--denoising-curve", "0.5,2", "--out", "OUT"], "start times must be in (0, 1]" },
        { ["eval", "--model", "MODEL", "--denoising-curve", "0.5", "--out", "OUT"], "only for glyphs teachers" },
        { ["train-encoder", "--task", "ring8", "--out", "OUT"], "encoders exist for glyphs, motion, fashion-mnist" },
        { ["train-encoder", "--task", "glyphs", "--iterations", "0", "--out", "OUT"], "iterations ≥ 1" },
        { ["train-encoder", "--task", "glyphs", "--out", "MODEL"], "already holds a model" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_gets_one_line_on_stderr_and_exit_code_2(string[] args, string expected)
    {
        var dir = TestUtil.TempDir();
        File.WriteAllText(Path.Combine(dir, "malformed.json"), "{\"means\": [1, 2");
        File.WriteAllText(Path.Combine(dir, "zero.json"), """{"means": [1, 2], "stds": [1, 1], "weights": [0, 0]}""");
        File.WriteAllText(Path.Combine(dir, "ring.json"), PhasedDmd.Data.MixtureTasks.Ring8().ToJson());
        File.WriteAllText(Path.Combine(dir, "unknown.json"), """{"task": "ring8", "iterashuns": 5}""");
        File.WriteAllText(Path.Combine(dir, "afile"), "not a directory");
        var modelBefore = Directory.GetFiles(teacher.ModelDir).ToDictionary(f => f, File.ReadAllBytes);
        var resolved = args.Select(a => a switch
        {
            "OUT" => Path.Combine(dir, "out"),
            "MALFORMED" => Path.Combine(dir, "malformed.json"),
            "ZEROWEIGHTS" => Path.Combine(dir, "zero.json"),
            "MISSING" => Path.Combine(dir, "missing"),
            "MODEL" => teacher.ModelDir,
            "RING" => Path.Combine(dir, "ring.json"),
            "UNKNOWNKEY" => Path.Combine(dir, "unknown.json"),
            "AFILE/sub" => Path.Combine(dir, "afile", "sub"),
            _ => a,
        }).ToArray();
        var (code, err) = Run(resolved);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.False(File.Exists(Path.Combine(dir, "out", "model.safetensors")));
        // Nothing already saved is touched.
        foreach (var (f, content) in modelBefore) Assert.Equal(content, File.ReadAllBytes(f));
    }

    [Fact]
    public void Incompatible_weights_are_a_clean_error()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "teacher");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(teacher.ModelDir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var card = File.ReadAllText(Path.Combine(dir, "model.json")).Replace("\"hidden\": 32", "\"hidden\": 48");
        File.WriteAllText(Path.Combine(dir, "model.json"), card);
        var (code, err) = Run("eval", "--model", dir, "--out", Path.Combine(dir, "m.json"));
        Assert.Equal(2, code);
        Assert.Contains("incompatible or corrupt weights", err);
    }

    [Fact]
    public void A_flipped_bit_in_the_weights_is_detected_on_load()
    {
        var dir = Path.Combine(TestUtil.TempDir(), "teacher");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(teacher.ModelDir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var weights = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[^8] ^= 0x01;   // inside the last tensor's data: still a well-formed file, just a different number
        File.WriteAllBytes(weights, bytes);
        var (code, err) = Run("eval", "--model", dir, "--out", Path.Combine(dir, "m.json"));
        Assert.Equal(2, code);
        Assert.Contains("corrupt weights", err);
        Assert.Contains("SHA-256", err);
    }

    [Fact]
    public void A_run_never_writes_into_a_directory_holding_a_model()
    {
        var before = Directory.GetFiles(teacher.ModelDir).ToDictionary(f => f, File.ReadAllBytes);
        var (code, err) = Run("distill", "--teacher", teacher.ModelDir, "--iterations-per-phase", "1", "--out", teacher.ModelDir);
        Assert.Equal(2, code);
        Assert.Contains("already holds a model", err);
        (code, err) = Run("train-teacher", "--task", "gmm1d", "--iterations", "1", "--out", teacher.ModelDir);
        Assert.Equal(2, code);
        Assert.Contains("already holds a model", err);
        foreach (var (f, content) in before) Assert.Equal(content, File.ReadAllBytes(f));
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(teacher.ModelDir).Order());
    }

    [CpuOnlyFact]
    public void Cuda_without_cuda_is_an_input_error()
    {
        var (code, err) = Run("sample", "--model", teacher.ModelDir, "--device", "cuda", "--out", Path.Combine(TestUtil.TempDir(), "s.csv"));
        Assert.Equal(2, code);
        Assert.Contains("CUDA is not available", err);
    }

    [Fact]
    public void Bench_worker_writes_a_measurement_and_bench_rejects_bad_options()
    {
        var dir = TestUtil.TempDir();
        var file = Path.Combine(dir, "update.json");
        var (code, err) = Run("bench-worker", "--part", "update", "--model", "mlp", "--case", "sgts-N4", "--threads", "1", "--warmup", "0", "--repeats", "1", "--out", file);
        Assert.True(code == 0, err);
        var m = PhasedDmd.IO.Json.Read<PhasedDmd.Experiments.Benchmarks.UpdateMeasurement>(file, "result");
        Assert.Equal(("mlp", "sgts-N4", 4, 1), (m.Model, m.Case, m.Steps, m.TimedUpdates));

        (code, err) = Run("bench", "--models", "mlp,transformer", "--out", Path.Combine(dir, "b.json"));
        Assert.Equal(2, code);
        Assert.Contains("transformer", err);
        (code, _) = Run("bench", "--threads", "0");
        Assert.Equal(2, code);
        Assert.False(File.Exists(Path.Combine(dir, "b.json")));
    }
}
