using System.ComponentModel;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

/// <summary>Options every command that runs a model shares.</summary>
public class RunSettings : CommandSettings
{
    [CommandOption("--seed <N>")]
    [Description("Random seed (data, noise, initialisation).")]
    public int? Seed { get; init; }

    [CommandOption("--device <DEVICE>")]
    [Description("cpu, cuda or cuda:N (needs a CUDA build of libtorch). Default: cpu.")]
    public string? Device { get; init; }

    [CommandOption("--threads <N>")]
    [Description("libtorch intra-op threads (0 = libtorch's default).")]
    public int? Threads { get; init; }
}
