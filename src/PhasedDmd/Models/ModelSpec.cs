using System.Text.Json.Serialization;

namespace PhasedDmd.Models;

/// <summary>The architecture of a velocity model: saved as JSON beside the weights and used to rebuild it.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(MlpSpec), "mlp")]
[JsonDerivedType(typeof(DitSpec), "dit")]
[JsonDerivedType(typeof(TorchScriptSpec), "torchscript")]
public abstract record ModelSpec
{
    public abstract VelocityModel Build();

    /// <summary>Shape of one data sample (e.g. [2] for points).</summary>
    public abstract long[] SampleShape { get; }
}
