using System.Text.Json.Serialization;

namespace PhasedDmd.Models;

/// <summary>The architecture of a velocity model: saved as JSON beside the weights and used to rebuild it.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(MlpSpec), "mlp")]
[JsonDerivedType(typeof(DitSpec), "dit")]
public abstract record ModelSpec
{
    public abstract VelocityModel Build();

    /// <summary>Shape of one data sample (e.g. [2] for points).</summary>
    public abstract long[] SampleShape { get; }
}

/// <summary>Time-conditioned MLP for points (optionally class-conditioned with a null class for CFG).</summary>
public sealed record MlpSpec(int DataDim, int Hidden = 256, int Layers = 4, int TimeEmbedDim = 64, int NumClasses = 0) : ModelSpec
{
    public override VelocityModel Build()
    {
        if (DataDim < 1 || Hidden < 1 || Layers < 2 || TimeEmbedDim < 2 || NumClasses < 0)
            throw new InputException($"mlp spec: invalid sizes (dataDim {DataDim}, hidden {Hidden}, layers {Layers} ≥ 2, timeEmbedDim {TimeEmbedDim}, numClasses {NumClasses})");
        return new MlpVelocityModel(this);
    }

    public override long[] SampleShape => [DataDim];
}
