using System.ComponentModel;
using Spectre.Console;
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

/// <summary>Options of the training commands that write checkpoints and can resume.</summary>
public abstract class ResumableRunSettings : RunSettings
{
    [CommandOption("--checkpoint-every <N>")]
    [Description("Write a resumable checkpoint every N updates (distill: default 100, and at every phase boundary; train-teacher: default 1000; 0 = never).")]
    public int? CheckpointEvery { get; init; }

    [CommandOption("--resume <DIR>")]
    [Description("Continue an interrupted run in DIR from its newest intact checkpoint (its saved config is used; options that change it are refused).")]
    public string? Resume { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("Output model directory (required unless --resume).")]
    public string Out { get; init; } = "";

    /// <summary>Where the run writes: --out, or the directory being resumed.</summary>
    public string OutDir => string.IsNullOrWhiteSpace(Out) ? Resume ?? "" : Out;

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Out) && Resume is null) return ValidationResult.Error("--out DIR is required");
        if (Resume is not null && !string.IsNullOrWhiteSpace(Out) && Path.GetFullPath(Out) != Path.GetFullPath(Resume))
            return ValidationResult.Error("--resume continues in place: --out must be the same directory or left out");
        return ValidationResult.Success();
    }
}
