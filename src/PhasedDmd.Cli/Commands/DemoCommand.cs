using System.ComponentModel;
using System.Diagnostics;
using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Plotting;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class DemoSettings : CommandSettings
{
    [CommandOption("--out <DIR>")]
    [Description("Output directory (default runs/demo).")]
    public string Out { get; init; } = Path.Combine("runs", "demo");

    [CommandOption("--seed <N>")]
    [Description("Random seed (default 0).")]
    public int Seed { get; init; }
}

/// <summary>
/// The main job on the built-in task: train a ring8 teacher, sample it, evaluate it against
/// the exact mixture, and write a scatter plot and metrics.
/// </summary>
public sealed class DemoCommand : Command<DemoSettings>
{
    public override int Execute(CommandContext context, DemoSettings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var teacherDir = Path.Combine(settings.Out, "teacher");
        var config = new TeacherConfig { Task = "ring8", Seed = settings.Seed };
        // The demo regenerates its own outputs: train beside the previous teacher and swap it in only when complete.
        var incoming = Path.Combine(settings.Out, ".teacher-incoming");
        if (Directory.Exists(incoming)) Directory.Delete(incoming, recursive: true);
        ConsoleProgress.Run("train teacher (ring8)", p => TeacherTrainer.Train(config, incoming, p));
        if (Directory.Exists(teacherDir)) Directory.Delete(teacherDir, recursive: true);
        Directory.Move(incoming, teacherDir);
        var trainSeconds = clock.Elapsed.TotalSeconds;

        var (card, model) = ModelDirectory.Load(teacherDir);
        using (model)
        using (var samples = ModelSampling.Sample(card, model, new SampleOptions(N: 5000, Seed: settings.Seed + 1)))
        {
            var metrics = MixtureMetrics.Evaluate(card.Task.Mixture!, samples, settings.Seed);
            Json.Write(Path.Combine(settings.Out, "metrics.json"), metrics);
            var points = TensorExport.ToMatrix(samples);
            SampleCommand.WriteCsv(Path.Combine(settings.Out, "samples.csv"), points);
            Plots.MixtureSamples(Path.Combine(settings.Out, "teacher_samples.png"), card.Task.Mixture!, points,
                $"ring8 teacher, {card.Sampling.Steps} Euler steps (TV {metrics.WeightTv:F3}, off-mode {metrics.OffModeFraction:F3})");
            EvalCommand.Render("ring8 teacher", metrics);
        }
        AnsiConsole.MarkupLine($"demo finished in {clock.Elapsed.TotalSeconds:F0} s (training {trainSeconds:F0} s); outputs in {Markup.Escape(settings.Out)}");
        return 0;
    }
}
