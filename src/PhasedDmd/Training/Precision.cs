using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>
/// What the networks of a run (teacher, experts, fake scores) hold and compute in. With <see cref="Bf16"/> their weights are
/// bfloat16 (half the memory of a frozen copy); what trains keeps a float32 master copy and float32 optimizer states
/// (<see cref="MasterWeights"/>), and every loss is computed in float32 from the networks' outputs.
/// </summary>
public enum Precision { Fp32, Bf16 }

public static class Precisions
{
    public static ScalarType DType(this Precision p) => p == Precision.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
}
