namespace PhasedDmd.Models;

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

    [System.Text.Json.Serialization.JsonIgnore] public override int ClassCount => NumClasses;
    [System.Text.Json.Serialization.JsonIgnore] public override bool SampledByExportedScript => true;
}
