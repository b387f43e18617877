using PhasedDmd.Diffusion;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// A TorchScript network behind the velocity-model interface: its time input is scaled by the
/// spec's time scale and its output converted to the velocity by the one set of conversions
/// (<see cref="Parameterization"/>). Its parameters are ordinary trainable parameters, so experts and
/// fake scores are independent copies that train like native ones. It has no LoRA-capable layers
/// (they are inside the script, which cannot be rewritten from here): its experts are full copies.
/// </summary>
public sealed class TorchScriptVelocityModel : VelocityModel
{
    private readonly jit.ScriptModule<Tensor, Tensor, Tensor> net;
    private readonly TorchScriptSpec _spec;
    private readonly NoiseSchedule _schedule;

    public TorchScriptVelocityModel(TorchScriptSpec spec) : base("torchscript")
    {
        if (!TorchScriptSpec.Predictions.Contains(spec.Prediction))
            throw new InputException($"prediction: expected velocity, x0 or epsilon (got '{spec.Prediction}')");
        _spec = spec;
        _schedule = NoiseSchedule.FromName(spec.Schedule);
        net = LoadScript(spec.ScriptPath);
        RegisterComponents();
    }

    public override ModelSpec Spec => _spec;

    /// <summary>
    /// The script as one submodule, not its inner modules: TorchSharp's Dispose walks named_modules lazily
    /// and would reach into the script after disposing it (the script's own modules go with its handle).
    /// </summary>
    public override IEnumerable<(string name, nn.Module module)> named_modules() => [("net", net)];
    public override bool IsConditional => false;

    public override Tensor Forward(Tensor x, Tensor t, Tensor? condition)
    {
        if (condition is not null) throw new InputException("this TorchScript teacher is unconditional: forward(x, t) takes no condition");
        using var scope = torch.NewDisposeScope();
        // x0 and epsilon do not determine the velocity where σ = 0 (x0) or α = 0 (epsilon): evaluate next to those ends.
        var te = _spec.Prediction switch
        {
            "x0" => t.clamp_min(1e-4),
            "epsilon" => t.clamp(1e-4, 1 - 1e-3),
            _ => t,
        };
        var output = net.call(x, te * _spec.TimeScale);
        var tb = ProbabilityFlow.PerSample(te, x);
        var v = _spec.Prediction switch
        {
            "x0" => Parameterization.X0ToVelocity(_schedule, x, output, tb),
            "epsilon" => Parameterization.EpsilonToVelocity(_schedule, x, output, tb),
            _ => output,
        };
        return v.MoveToOuterDisposeScope();
    }

    /// <summary>Loads a TorchScript module; a file that is not one is an input error naming it.</summary>
    public static jit.ScriptModule<Tensor, Tensor, Tensor> LoadScript(string path)
    {
        if (!File.Exists(path)) throw new InputException($"torchscript: file not found: {path}");
        try
        {
            return torch.jit.load<Tensor, Tensor, Tensor>(path);
        }
        catch (Exception e)
        {
            throw new InputException($"torchscript: {path} is not a TorchScript file ({e.Message.Split('\n', 2)[0].Trim()})");
        }
    }
}
