using PhasedDmd.Diffusion;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// A TorchScript network behind the velocity-model interface: its time input is scaled by the
/// spec's time scale and its output converted to the velocity by the one set of conversions
/// (<see cref="Parameterization"/>). Its parameters are ordinary trainable parameters, so experts and
/// fake scores are independent copies that train like native ones. No layer of the script can be wrapped
/// from here: LoRA experts train the adapter parameters its author declared (<see cref="TorchScriptSpec.Adapters"/>).
/// A conditional module gets rows of its conditions file, and the file's <c>null</c> row for guidance.
/// </summary>
public sealed class TorchScriptVelocityModel : VelocityModel
{
    private readonly jit.ScriptModule<Tensor> net;
    private readonly TorchScriptSpec _spec;
    private readonly NoiseSchedule _schedule;
    private readonly ConditionsFile? _conditions;
    private readonly Prediction _prediction;

    public TorchScriptVelocityModel(TorchScriptSpec spec) : base("torchscript")
    {
        _prediction = Predictions.Parse(spec.Prediction);
        _spec = spec;
        _schedule = NoiseSchedule.FromName(spec.Schedule);
        net = LoadScript(spec.ScriptPath);
        _conditions = spec.LoadConditions();
        RegisterComponents();
    }

    public override ModelSpec Spec => _spec;

    /// <summary>
    /// The script as one submodule, not its inner modules: TorchSharp's Dispose walks named_modules lazily
    /// and would reach into the script after disposing it (the script's own modules go with its handle).
    /// </summary>
    public override IEnumerable<(string name, nn.Module module)> named_modules() => [("net", net)];
    public override bool IsConditional => _conditions is not null;
    public override string AuthorPrefix => "net.";

    /// <summary>The conditions file's <c>null</c> row for every condition of the batch.</summary>
    public override Tensor NullCondition(Tensor condition)
        => _conditions is null ? base.NullCondition(condition) : _conditions.NullFor(condition);

    /// <summary>The scripted module (its parameters are this model's), e.g. to save with <c>torch.jit.save</c>.</summary>
    public jit.ScriptModule Script => net;

    public override Prediction Prediction => _prediction;

    /// <summary>The script's own output, evaluated at <see cref="Predictions.SafeTime"/> and fed the time it was trained with.</summary>
    public override Tensor Predict(Tensor x, Tensor t, Tensor? condition)
    {
        if (condition is not null && _conditions is null) throw new InputException("this TorchScript teacher is unconditional: forward(x, t) takes no condition");
        if (condition is null && _conditions is not null) throw new InputException("this TorchScript teacher is conditional: forward(x, t, cond) needs a condition");
        using var scope = torch.NewDisposeScope();
        var te = _schedule.NetworkTime(Predictions.SafeTime(_schedule, _prediction, t), _spec.TimeScale);
        Tensor output;
        try
        {
            output = condition is null ? net.call(In(x), In(te)) : net.call(In(x), In(te), In(condition));
        }
        catch (System.Runtime.InteropServices.ExternalException e) when (ComputeType != ScalarType.Float32)
        {
            var lines = e.Message.Split('\n').Select(l => l.Trim()).ToList();
            var cause = lines.FirstOrDefault(l => l.StartsWith("RuntimeError:", StringComparison.Ordinal)) ?? lines[0];
            var dtype = ComputeType == ScalarType.BFloat16 ? "bf16" : ComputeType.ToString();
            throw new InputException($"precision {dtype}: the TorchScript module fails on {dtype} inputs ({cause}); it must compute in its inputs' dtype " +
                                     "(e.g. cast a float32 time embedding to x.dtype before its first linear layer: docs/prepare-pytorch.md), or run with --precision fp32");
        }
        return Out(output, x).MoveToOuterDisposeScope();
    }

    /// <summary>The velocity, converted from the script's prediction by the one set of conversions.</summary>
    public override Tensor Forward(Tensor x, Tensor t, Tensor? condition)
    {
        using var scope = torch.NewDisposeScope();
        var output = Predict(x, t, condition);
        var tb = ProbabilityFlow.PerSample(Predictions.SafeTime(_schedule, _prediction, t), x);
        return Predictions.ToVelocity(_schedule, _prediction, x, output, tb).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _conditions?.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Loads a TorchScript module; a file that is not one is an input error naming it.</summary>
    public static jit.ScriptModule<Tensor> LoadScript(string path)
    {
        ScriptExecutor.Configure();
        if (!File.Exists(path)) throw new InputException($"torchscript: file not found: {path}");
        try
        {
            return torch.jit.load<Tensor>(path);
        }
        catch (Exception e)
        {
            throw new InputException($"torchscript: {path} is not a TorchScript file ({e.Message.Split('\n', 2)[0].Trim()})");
        }
    }
}
