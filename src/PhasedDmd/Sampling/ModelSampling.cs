using PhasedDmd.Diffusion;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Sampling;

/// <summary>Sampling options of a model directory; null fields fall back to the model card.</summary>
public sealed record SampleOptions(int N = 2000, int? Steps = null, string? Solver = null, double? Cfg = null, int Seed = 0, string Device = "cpu");

public static class ModelSampling
{
    /// <summary>
    /// Draws N samples from a single-network model by integrating its probability-flow ODE
    /// from seeded noise. Class-conditional models get labels drawn from the task's weights.
    /// Returns float32 samples on the CPU.
    /// </summary>
    public static Tensor Sample(ModelCard card, VelocityModel model, SampleOptions options)
    {
        if (options.N < 1) throw new InputException($"--n: must be ≥ 1 (got {options.N})");
        var steps = options.Steps ?? card.Sampling.Steps;
        if (steps < 1) throw new InputException($"--steps: must be ≥ 1 (got {steps})");
        var solver = OdeSolvers.Parse(options.Solver ?? card.Sampling.Solver);
        var cfg = options.Cfg ?? card.Sampling.Cfg;
        var device = torch.device(options.Device);
        using var generator = Runtime.NewGenerator(options.Seed);
        using var scope = torch.NewDisposeScope();
        var shape = new long[] { options.N }.Concat(card.Network.SampleShape).ToArray();
        var noise = torch.randn(shape, generator: generator).to(device);
        Tensor? condition = null;
        if (model.IsConditional && card.Task.Mixture is { } mixture)
            condition = torch.multinomial(mixture.WeightsTensor(), options.N, replacement: true, generator: generator).to(device);
        var times = Timesteps.Grid(steps, card.Sampling.Shift);
        return OdeSolvers.Integrate(model, noise, times, condition, cfg, solver).cpu().MoveToOuterDisposeScope();
    }
}
