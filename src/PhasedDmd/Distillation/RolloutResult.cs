using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>What a rollout to a phase boundary returns: x_s, the x̂_0 of the step that reached it, and that step's index.</summary>
public readonly record struct RolloutResult(Tensor Xs, Tensor X0, int ExitStep);
