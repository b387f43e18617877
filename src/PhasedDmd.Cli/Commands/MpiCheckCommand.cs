using System.ComponentModel;
using PhasedDmd.Distillation;
using PhasedDmd.Training;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class MpiCheckSettings : CommandSettings
{
    [CommandOption("--batch-size <N>")]
    [Description("Rows of the fixed batch that the ranks split (default 64; must divide evenly).")]
    public int BatchSize { get; init; } = 64;

    [CommandOption("--perturb-rank <R>")]
    [Description("Test the guard: nudge rank R's weights before the step, so the check must report different parameters and fail.")]
    public int? PerturbRank { get; init; }

    [CommandOption("--tolerance <TOL>")]
    [Description("Largest accepted |averaged − whole-batch| gradient entry (default 1e-5).")]
    public double Tolerance { get; init; } = 1e-5;
}

/// <summary>
/// Checks a data-parallel launch before a long run: the collectives give known answers, and the
/// gradients averaged over the ranks on their shares of a fixed batch equal one process's gradients
/// of the whole batch (see <see cref="DataParallelCheck"/>). Exit code 0 when everything holds, 1 otherwise.
/// </summary>
public sealed class MpiCheckCommand : Command<MpiCheckSettings>
{
    public override int Execute(CommandContext context, MpiCheckSettings settings, CancellationToken cancellationToken)
    {
        var sync = DataParallel.Join();
        TorchSharp.torch.set_num_threads(1);   // a tiny model: one thread per rank
        var result = DataParallelCheck.Run(sync, settings.BatchSize, perturbRank: settings.PerturbRank);
        var passed = result.Passed(settings.Tolerance);
        if (sync.Rank == 0)
        {
            Console.WriteLine(DataParallel.Describe(sync) ?? "one process (no MPI launcher): the check compares the process with itself");
            Console.WriteLine($"collectives (mean, any, all, gather): {(result.CollectivesCorrect ? "correct" : "WRONG")}");
            Console.WriteLine($"fake score gradient: max |averaged - whole batch| = {result.FakeGradientError:E2} (tolerance {settings.Tolerance:G})");
            Console.WriteLine($"generator gradient: max |averaged - whole batch| = {result.GeneratorGradientError:E2} (tolerance {settings.Tolerance:G})");
            Console.WriteLine($"parameters identical on every rank after a step: {(result.IdenticalAfterStep ? "yes" : "NO")}");
            if (sync is MpiGroup g) Console.WriteLine($"gradients reduced {g.ReductionPath}");
            Console.WriteLine(passed ? "data-parallel check passed" : "data-parallel check FAILED");
        }
        return passed ? 0 : 1;

    }
}
