using PhasedDmd.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// The student's rollout from noise to the boundary s_k of phase k: the Euler backward simulation
/// and SGTS of method.md §3, confined to a phase as in §4.2. Experts
/// 1…k−1 run without gradient to the phase start t_{b(k−1)}. Inside the phase, with SGTS, an exit
/// step j is drawn uniformly from the phase's steps, steps before j run without gradient, and step
/// j jumps straight to s_k with gradient — so the gradient reaches the expert through exactly one
/// network evaluation. With full truncation every step of the phase records gradient.
/// </summary>
public sealed class Rollout(StudentGenerator student, Truncation truncation)
{
    /// <summary>The exit step j ~ U{b(k−1), …, b(k)−1} of phase k.</summary>
    public static int DrawExitStep(PhaseLayout layout, int k, Generator rng)
    {
        var start = layout.PhaseStart(k);
        using var draw = torch.randint(0, layout.PhaseEnd(k) - start, [1], generator: rng);
        return start + (int)draw.item<long>();
    }

    /// <summary>The exit step of an update of phase k with SGTS (drawn from <paramref name="rng"/>); null with full truncation, which draws none.</summary>
    public int? DrawExit(int k, Generator rng) => truncation == Truncation.Sgts ? DrawExitStep(student.Layout, k, rng) : null;

    /// <summary>
    /// x_s of phase <paramref name="k"/> from <paramref name="noise"/> at t = 1; gradient only when <paramref name="withGradient"/>.
    /// With SGTS the exit step is <paramref name="exit"/> when given (every micro-batch of an update shares one), else drawn here.
    /// </summary>
    public RolloutResult ToBoundary(int k, Tensor noise, Tensor? condition, bool withGradient, Generator rng, int? exit = null)
    {
        var layout = student.Layout;
        var s = layout.BoundaryTime(k);
        using var grad = torch.set_grad_enabled(withGradient);
        if (truncation == Truncation.Sgts)
        {
            exit ??= DrawExitStep(layout, k, rng);
            var x = student.Run(noise, 0, exit.Value, condition, rng);
            var (xs, x0) = student.Step(x, exit.Value, s, condition, rng);
            return new RolloutResult(xs, x0, exit.Value);
        }
        var start = layout.PhaseStart(k);
        var end = layout.PhaseEnd(k);
        var current = student.Run(noise, 0, start, condition, rng);
        var x0Last = current;
        for (var i = start; i < end; i++)
            (current, x0Last) = student.Step(current, i, layout.Times[i + 1], condition, rng);
        return new RolloutResult(current, x0Last, end - 1);
    }
}
