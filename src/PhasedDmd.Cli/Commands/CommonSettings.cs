using PhasedDmd.Cli.Support;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

/// <summary>Options every command that runs a model shares.</summary>
public class RunSettings : CommandSettings
{
    [CommandOption("--seed <N>"), ConfigKey("seed")]
    [Description("Random seed (data, noise, initialisation).")]
    public int? Seed { get; init; }

    [CommandOption("--device <DEVICE>"), ConfigKey("device")]
    [Description("cpu, cuda or cuda:N (needs a CUDA build of libtorch). Default: cpu.")]
    public string? Device { get; init; }

    [CommandOption("--threads <N>"), ConfigKey("threads")]
    [Description("libtorch intra-op threads (0 = libtorch's default).")]
    public int? Threads { get; init; }
}

/// <summary>Options of the training commands that write checkpoints and can resume.</summary>
public abstract class ResumableRunSettings : RunSettings
{
    [CommandOption("--checkpoint-every <N>"), ConfigKey("checkpointEvery")]
    [Description("Write a resumable checkpoint every N updates (the default depends on the task: see --print-config; distill also checkpoints at every phase boundary; 0 = never).")]
    public int? CheckpointEvery { get; init; }

    [CommandOption("--resume <DIR>")]
    [Description("Continue an interrupted run in DIR from its newest intact checkpoint (its saved config is used; options that change it are refused).")]
    public string? Resume { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("Output model directory (required unless --resume).")]
    public string Out { get; init; } = "";

    [CommandOption("--set <KEY=VALUE>")]
    [Description("Set any config key (repeatable), e.g. --set gradClip=1 --set beta1=0.9; --print-config lists the keys with their values.")]
    public string[]? Set { get; init; }

    [CommandOption("--print-config")]
    [Description("Print the effective config as JSON (defaults, --config file and options applied) and exit without training.")]
    public bool PrintConfig { get; init; }

    /// <summary>Where the run writes: --out, or the directory being resumed.</summary>
    public string OutDir => string.IsNullOrWhiteSpace(Out) ? Resume ?? "" : Out;

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Out) && Resume is null && !PrintConfig) return ValidationResult.Error("--out DIR is required");
        if (Resume is not null && !string.IsNullOrWhiteSpace(Out) && Path.GetFullPath(Out) != Path.GetFullPath(Resume))
            return ValidationResult.Error("--resume continues in place: --out must be the same directory or left out");
        return ValidationResult.Success();
    }
}
