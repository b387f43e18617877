using System.Text.Json.Serialization;

namespace PhasedDmd.Models;

/// <summary>
/// A teacher written in PyTorch and saved as TorchScript (<c>torch.jit.script(net).save(path)</c>),
/// imported with <c>phased-dmd import-teacher</c>. Its contract: <c>forward(x, t) -&gt; Tensor</c>, x of
/// shape [B, <see cref="Shape"/>], t of shape [B] holding the noise level in [0, 1] times
/// <see cref="TimeScale"/> (on a discrete schedule, the training timestep), the output of x's shape being the
/// <see cref="Prediction"/> (velocity ε − x_0 in the flow convention, x0, epsilon or v_prediction) under <see cref="Schedule"/>.
/// A conditional teacher's <c>forward(x, t, cond)</c> also takes a batch of rows of its conditions file.
/// </summary>
/// <param name="Script">The TorchScript file, relative to the model directory.</param>
/// <param name="Conditions">The conditions file (<see cref="ConditionsFile"/>) of a conditional module, relative to the model directory; null for forward(x, t).</param>
/// <param name="Names">The text file naming the conditions' rows, relative to the model directory (optional).</param>
/// <param name="Adapters">A regex over the script's parameter names picking its LoRA adapter parameters (e.g. <c>lora_</c>), or null.</param>
/// <param name="AdapterAlpha">The adapters' α (the wrapper's scale is α / r), for the PEFT export; null: α = r.</param>
public sealed record TorchScriptSpec(string Script, long[] Shape, string Prediction = "velocity", double TimeScale = 1, string Schedule = "flow",
                                     string? Conditions = null, string? Names = null, string? Adapters = null, double? AdapterAlpha = null) : ModelSpec
{
    /// <summary>The file name of the script inside a model directory.</summary>
    public const string FileName = "model.pt";

    [JsonIgnore] public string ScriptPath => PathOf(Script);
    [JsonIgnore] public override string? ConditionsPath => Conditions is null ? null : PathOf(Conditions);
    [JsonIgnore] public override string? NamesPath => Names is null ? null : PathOf(Names);

    /// <summary>The script, and the conditions and their names.</summary>
    [JsonIgnore] public override IReadOnlyList<string> Files => [.. new[] { Script, Conditions, Names }.OfType<string>()];

    [JsonIgnore] public override Diffusion.Prediction Output => Diffusion.Predictions.Parse(Prediction);
    [JsonIgnore] public override double InputTimeScale => TimeScale;
    [JsonIgnore] public override bool SampledByExportedScript => true;
    [JsonIgnore] public override string? DeclaredAdapters => Adapters;
    [JsonIgnore] public override double? DeclaredAdapterAlpha => AdapterAlpha;
    [JsonIgnore] public override bool IsSealed => true;

    public override long[] SampleShape => Shape;

    /// <summary>A new, independent copy of the scripted network (the file is loaded again).</summary>
    public override VelocityModel Build() => new TorchScriptVelocityModel(this);
}
