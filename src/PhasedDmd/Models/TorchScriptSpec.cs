using System.Text.Json.Serialization;

namespace PhasedDmd.Models;

/// <summary>
/// A teacher written in PyTorch and saved as TorchScript (<c>torch.jit.script(net).save(path)</c>),
/// imported with <c>phased-dmd import-teacher</c>. Its contract: <c>forward(x, t) -&gt; Tensor</c>, x of
/// shape [B, <see cref="Shape"/>], t of shape [B] holding the noise level in [0, 1] times
/// <see cref="TimeScale"/>, the output of x's shape being the <see cref="Prediction"/> (velocity
/// ε − x_0 in the flow convention, x0 or epsilon) under <see cref="Schedule"/>.
/// </summary>
/// <param name="Script">The TorchScript file, relative to the model directory.</param>
public sealed record TorchScriptSpec(string Script, long[] Shape, string Prediction = "velocity", double TimeScale = 1, string Schedule = "flow") : ModelSpec
{
    /// <summary>The file name of the script inside a model directory.</summary>
    public const string FileName = "model.pt";
    public static readonly string[] Predictions = ["velocity", "x0", "epsilon"];

    /// <summary>The folder <see cref="Script"/> is found in (the model directory the card was read from); not saved.</summary>
    [JsonIgnore] public string? Directory { get; init; }

    [JsonIgnore] public string ScriptPath => Path.Combine(Directory ?? ".", Script);

    public override long[] SampleShape => Shape;

    /// <summary>A new, independent copy of the scripted network (the file is loaded again).</summary>
    public override VelocityModel Build() => new TorchScriptVelocityModel(this);
}
