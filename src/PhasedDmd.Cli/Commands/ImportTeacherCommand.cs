using System.ComponentModel;
using System.Globalization;
using PhasedDmd.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PhasedDmd.Cli.Commands;

public sealed class ImportTeacherSettings : CommandSettings
{
    [CommandOption("--torchscript <FILE>")]
    [Description("A TorchScript file saved by PyTorch (torch.jit.script(net).save(FILE)) whose forward(x, t), or forward(x, t, cond) with --conditions, returns the prediction.")]
    public string TorchScript { get; init; } = "";

    [CommandOption("--prediction <KIND>")]
    [Description("What forward returns: velocity (ε − x_0 in the flow convention), x0, epsilon or v_prediction (diffusers' α ε − σ x_0). Read from --scheduler-config when given.")]
    public string? Prediction { get; init; }

    [CommandOption("--time-scale <S>")]
    [Description("t passed to the module = noise level in [[0, 1]] × S (default 1; 1000 for the common timesteps = σ·1000). Read from --scheduler-config when given.")]
    public double? TimeScale { get; init; }

    [CommandOption("--schedule <NAME>")]
    [Description("Noise schedule the module was trained with: flow (x_t = (1 − t) x_0 + t ε, default) or vp-cosine; a discrete VP schedule comes from --scheduler-config.")]
    public string? Schedule { get; init; }

    [CommandOption("--scheduler-config <FILE>")]
    [Description("The model's diffusers scheduler_config.json (DDPM/DDIM/Euler discrete … or FlowMatchEulerDiscreteScheduler): sets the schedule it was trained on, the prediction, the time scale and the shift.")]
    public string? SchedulerConfig { get; init; }

    [CommandOption("--shift <K>")]
    [Description("Timestep shift of the teacher's own sampling grid (default 1, or the scheduler config's shift).")]
    public double? Shift { get; init; }

    [CommandOption("--sample-shape <DIMS>")]
    [Description("Shape of one sample, e.g. 2 or 3,16,16 (x is [[B, DIMS]]).")]
    public string SampleShape { get; init; } = "";

    [CommandOption("--conditions <FILE>")]
    [Description("Conditions of a conditional module: a safetensors file with 'cond' (one row per prompt or class, any shape and dtype forward takes) and optionally 'null' (the row for guidance's unconditional pass).")]
    public string? Conditions { get; init; }

    [CommandOption("--names <FILE>")]
    [Description("A text file naming the rows of --conditions, one per line (for sample --prompt and reports; default: the row indices).")]
    public string? Names { get; init; }

    [CommandOption("--cfg <W>")]
    [Description("Guidance scale of the teacher (its sampling, and the default teacherCfg of distill); needs the conditions' null row unless 1 (the default).")]
    public double Cfg { get; init; } = 1;

    [CommandOption("--steps <N>")]
    [Description("Steps of the teacher's own sampling (default 40; Euler, or DDIM on a discrete VP schedule).")]
    public int Steps { get; init; } = 40;

    [CommandOption("--task <NAME>")]
    [Description("The registered task whose data the module was trained on, so that eval and compare measure it against that data (fashion-mnist: a class-conditional [[1, 28, 28]] model whose names file names the ten classes). Default: imported (no data; eval --mixture scores point models).")]
    public string? Task { get; init; }

    [CommandOption("--mixture <FILE>")]
    [Description("A mixture JSON: the analytic distribution the teacher models, kept in the card so that eval and the validation monitor of distill give exact measures (mode coverage, weight TV).")]
    public string? Mixture { get; init; }

    [CommandOption("--adapters <PATTERN>")]
    [Description("A regex over the script's parameter names picking the LoRA adapter parameters you put in before scripting (e.g. lora_, B zero-initialised): distill --experts lora then trains only those, on the teacher's frozen base held once.")]
    public string? Adapters { get; init; }

    [CommandOption("--adapter-alpha <A>")]
    [Description("The adapters' alpha (your wrapper's scale is alpha / rank), written into the PEFT adapter_config.json of export (default: the rank, i.e. scale 1).")]
    public double? AdapterAlpha { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("Output model directory (must not hold a model).")]
    public string Out { get; init; } = "";

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(TorchScript) || (string.IsNullOrWhiteSpace(Prediction) && SchedulerConfig is null) || string.IsNullOrWhiteSpace(SampleShape) || string.IsNullOrWhiteSpace(Out)
            ? ValidationResult.Error("--torchscript FILE, --prediction KIND (or --scheduler-config FILE), --sample-shape DIMS and --out DIR are required") : ValidationResult.Success();
}

/// <summary>Imports a TorchScript teacher as a model directory that sample, eval, distill and compare accept.</summary>
public sealed class ImportTeacherCommand : Command<ImportTeacherSettings>
{
    public override int Execute(CommandContext context, ImportTeacherSettings s, CancellationToken cancellationToken)
    {
        var shape = s.SampleShape.Split(',', StringSplitOptions.TrimEntries).Select(d =>
            long.TryParse(d, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new InputException($"--sample-shape: '{d}' is not a size")).ToArray();
        var card = TorchScriptImport.Import(new TorchScriptImportOptions
        {
            TorchScript = s.TorchScript, Prediction = s.Prediction, SampleShape = shape, TimeScale = s.TimeScale, Schedule = s.Schedule,
            SchedulerConfig = s.SchedulerConfig, Shift = s.Shift, Steps = s.Steps, Cfg = s.Cfg, Conditions = s.Conditions, Names = s.Names, Task = s.Task, Mixture = s.Mixture,
            Adapters = s.Adapters, AdapterAlpha = s.AdapterAlpha,
        }, s.Out);
        var conditional = s.Conditions is null ? "" : $", conditional, CFG {s.Cfg}";
        var prediction = Diffusion.Predictions.Name(card.Network.Output);
        AnsiConsole.MarkupLine("[green]teacher imported[/] to " + Markup.Escape($"{s.Out} (task {card.Task.Name}, {prediction} prediction, {card.Schedule} schedule, sample shape [{string.Join(", ", card.Network.SampleShape)}]{conditional}, {card.Sampling.Steps} {card.Sampling.Solver} steps)"));
        return 0;
    }
}
