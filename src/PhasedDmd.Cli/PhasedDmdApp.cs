using PhasedDmd.Training;
using PhasedDmd.Cli.Support;
using PhasedDmd.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli;

/// <summary>The <c>phased-dmd</c> command line: commands, and one place that turns errors into exit codes.</summary>
public static class PhasedDmdApp
{
    public const int UsageError = 2;

    /// <summary>Runs the command line and returns the exit code. In a data-parallel job a failing rank ends the whole job (the others would wait for it).</summary>
    public static int Run(string[] args)
    {
        var code = RunCommand(args);
        if (code is not (0 or 130 or 143)) DataParallel.AbortJob(code);
        DataParallel.Leave();
        return code;
    }

    private static int RunCommand(string[] args)
    {
        var app = new CommandApp();
        app.Configure(Register);
        try
        {
            return app.Run(NormalizeArguments(args));
        }
        catch (Exception e) when (Unwrap(e) is InputException or CommandParseException or CommandRuntimeException or CommandConfigurationException)
        {
            WriteError(NameTheOption(Unwrap(e).Message, args));
            return UsageError;
        }
        catch (Exception e) when (Unwrap(e) is OperationCanceledException)
        {
            WriteError(Unwrap(e).Message + " (continue with --resume DIR)");
            return Interrupts.ExitCode;   // 130 after Ctrl-C, 143 after SIGTERM
        }
        catch (Exception e) when (Unwrap(e) is Training.DivergenceException)
        {
            WriteError(Unwrap(e).Message);
            return 3;
        }
        catch (Exception e) when (Unwrap(e) is DirectoryNotFoundException or UnauthorizedAccessException or PathTooLongException)
        {
            WriteError($"cannot use that path: {Unwrap(e).Message}");   // a bad --out / --model path: input, not a crash
            return UsageError;
        }
        catch (Exception e) when (Unwrap(e) is IOException)
        {
            WriteError($"I/O error (disk full or unreadable file?): {Unwrap(e).Message}; files already saved are kept");
            return 1;
        }
        catch (Exception e)
        {
            WriteError($"{Unwrap(e).GetType().Name}: {Unwrap(e).Message}");
            if (Environment.GetEnvironmentVariable("PHASEDDMD_DEBUG") == "1") Console.Error.WriteLine(e);
            return 1;
        }
    }

    /// <summary>The commands, their descriptions and examples (also the source of docs/cli.md's option tables).</summary>
    internal static readonly IReadOnlyList<CliCommand> Commands =
    [
        CliCommand.Of<TrainTeacherCommand, TrainTeacherSettings>("train-teacher",
            "Train a flow-matching teacher: an MLP on an analytic task (gmm1d, ring8, grid9, a mixture JSON) or a DiT on the procedural glyphs (text-to-image) and motion (text-to-video) tasks.",
            ["--task", "ring8", "--out", "runs/ring8-teacher"]),
        CliCommand.Of<ImportTeacherCommand, ImportTeacherSettings>("import-teacher",
            "Import a PyTorch teacher saved as TorchScript (forward(x, t) returning velocity, x0 or epsilon) as a model directory that sample, eval, distill and compare accept.",
            ["--torchscript", "teacher.pt", "--prediction", "velocity", "--sample-shape", "2", "--out", "runs/imported-teacher"]),
        CliCommand.Of<SampleCommand, SampleSettings>("sample",
            "Sample a model directory: points as CSV and a PNG scatter plot; glyphs and motion models as an image grid (seeds × prompts), videos also as an animated PNG.",
            ["--model", "runs/ring8-teacher", "--n", "2000", "--out", "runs/samples.csv"]),
        CliCommand.Of<EvalCommand, EvalSettings>("eval",
            "Evaluate a model: against the exact mixture (mode coverage, weight TV, off-mode, MMD, log-likelihood), or on glyphs and motion prompt following, layout and motion, and the feature-encoder diversity and Fréchet measures.",
            ["--model", "runs/ring8-teacher", "--out", "runs/metrics.json"]),
        CliCommand.Of<DistillCommand, DistillSettings>("distill",
            "Distil a teacher into a few-step student: dmd, fewstep, sgts or phased (Phased DMD).",
            ["--teacher", "runs/ring8-teacher", "--method", "phased", "--steps", "4", "--phases", "2", "--out", "runs/ring8-phased"]),
        CliCommand.Of<PlotCommand, PlotSettings>("plot",
            "Draw a run's curves to a PNG: losses, gradient norm, and the validation distances to the teacher (distill and train-teacher write RUN_DIR/curves.png when they finish).",
            ["runs/ring8-phased"]),
        CliCommand.Of<MergeLoraCommand, MergeLoraSettings>("merge-lora",
            "Export a LoRA student with its adapters merged into plain weights.",
            ["--model", "runs/ring8-phased-lora", "--out", "runs/ring8-phased-merged"]),
        CliCommand.Of<ExportCommand, ExportSettings>("export",
            "Export a student for PyTorch: TorchScript experts (or safetensors weights for native networks), student.json (step times, expert of each step, prediction, time scale, conditions) and sample_student.py, a PyTorch-only reference sampler.",
            ["--model", "runs/imported-phased", "--out", "runs/imported-phased-export"]),
        CliCommand.Of<CompareCommand, CompareSettings>("compare",
            "Distil one teacher with every method and ablation over several seeds; table of exact-distribution metrics.",
            ["--teacher", "runs/ring8-teacher", "--seeds", "3", "--out", "runs/compare-ring8"]),
        CliCommand.Of<Toy1dCommand, Toy1dSettings>("toy1d",
            "The paper's Fig. 2: score matching within a subinterval vs the naive objective, against exact 1D trajectories.",
            ["--out", "runs/toy1d"]),
        CliCommand.Of<TrainEncoderCommand, TrainEncoderSettings>("train-encoder",
            "Train the feature encoder of the diversity/fidelity metrics on a procedural task's true attributes.",
            ["--task", "glyphs", "--out", "runs/encoders/glyphs"]),
        CliCommand.Of<BenchCommand, BenchSettings>("bench",
            "Performance: memory and time per generator update for every method, sampling speed-up, DiT step vs matmul peak, PyTorch reference.",
            ["--quick", "--out", "runs/bench/bench.json"]),
        CliCommand.Of<BenchWorkerCommand, BenchWorkerSettings>("bench-worker", "", hidden: true),
        CliCommand.Of<MpiCheckCommand, MpiCheckSettings>("mpi-check",
            "Check a data-parallel launch (run it under mpiexec): the collectives give known answers, and gradients averaged over the ranks' shares of a fixed batch equal the whole batch's.",
            ["--batch-size", "64"]),
        CliCommand.Of<DemoCommand, DemoSettings>("demo",
            "The main job: distil the shipped teachers with every method, run the paper's studies in miniature, write runs/demo/report.md and report.json.",
            ["--out", "runs/demo"], ["--quick"]),
    ];

    private static void Register(IConfigurator config)
    {
        config.SetApplicationName("phased-dmd");
        config.UseAssemblyInformationalVersion();   // --version
        config.SetHelpProvider(new PhasedDmdHelp(config.Settings));
        config.AddExample("demo", "--quick");
        config.AddExample("train-teacher", "--task", "ring8", "--out", "runs/ring8-teacher");
        config.AddExample("distill", "--teacher", "runs/ring8-teacher", "--method", "phased", "--out", "runs/ring8-phased");
        config.PropagateExceptions();
        config.UseStrictParsing();   // an unknown or misspelt option is an error, never silently ignored
        foreach (var command in Commands) command.Register(config);
    }

    /// <summary>
    /// Spectre.Console.Cli needs long option names of two or more letters; the documented
    /// <c>--n N</c> is mapped to its short form <c>-n N</c>.
    /// </summary>
    public static string[] NormalizeArguments(string[] args)
        => args.Select(a => a == "--n" ? "-n" : a.StartsWith("--n=", StringComparison.Ordinal) ? "-n=" + a[4..] : a).ToArray();

    /// <summary>Spectre's "Failed to convert 'x' to Nullable`1." does not say which option; find it in the arguments.</summary>
    internal static string NameTheOption(string message, string[] args)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"^Failed to convert '(.*)' to (\S+)\.?$");
        if (!m.Success) return message;
        var value = m.Groups[1].Value;
        var at = Array.IndexOf(args, value);
        var option = at > 0 && args[at - 1].StartsWith('-') ? args[at - 1] : "an option";
        return $"{option}: '{value}' is not a valid value (expected a number)";
    }

    private static Exception Unwrap(Exception e)
    {
        while (e is System.Reflection.TargetInvocationException or AggregateException && e.InnerException is not null)
            e = e.InnerException;
        return e;
    }

    private static void WriteError(string message)
        => Console.Error.WriteLine($"error{(DataParallel.Current is { Rank: > 0 } g ? $" (rank {g.Rank})" : "")}: {message.Split('\n')[0].Trim()}");
}
