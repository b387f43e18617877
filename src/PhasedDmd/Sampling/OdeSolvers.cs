using PhasedDmd.Diffusion;
using PhasedDmd.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Sampling;

public static class OdeSolvers
{
    /// <summary>
    /// Integrates from times[0] to times[^1] with the given solver, classifier-free guidance
    /// scale <paramref name="cfg"/> and condition (null for unconditional models). No gradient.
    /// Heun is Euler plus a trapezoidal correction (2nd order, 2 evaluations per step).
    /// </summary>
    public static Tensor Integrate(VelocityModel model, Tensor noise, IReadOnlyList<double> times,
                                   Tensor? condition = null, double cfg = 1.0, OdeSolver solver = OdeSolver.Euler, NoiseSchedule? schedule = null)
    {
        if (solver == OdeSolver.Ddim) return IntegrateDdim(model, noise, times, condition, cfg, schedule ?? FlowMatchingSchedule.Instance);
        using var noGrad = torch.no_grad();
        var x = noise;
        var n = noise.shape[0];
        for (var i = 0; i < times.Count - 1; i++)
        {
            using var scope = torch.NewDisposeScope();
            double t = times[i], tNext = times[i + 1];
            var v = model.GuidedVelocity(x, torch.full(n, t, device: x.device), condition, cfg);
            var next = ProbabilityFlow.EulerStep(x, v, t, tNext);
            if (solver == OdeSolver.Heun)
            {
                var v2 = model.GuidedVelocity(next, torch.full(n, tNext, device: x.device), condition, cfg);
                next = x + (tNext - t) * 0.5 * (v + v2);
            }
            var previous = x;
            x = next.MoveToOuterDisposeScope();
            if (!ReferenceEquals(previous, noise)) previous.Dispose();
        }
        return ReferenceEquals(x, noise) ? noise.clone() : x;
    }

    /// <summary>DDIM steps from the model's own (guided) prediction, converted at the time it was evaluated.</summary>
    private static Tensor IntegrateDdim(VelocityModel model, Tensor noise, IReadOnlyList<double> times, Tensor? condition, double cfg, NoiseSchedule schedule)
    {
        using var noGrad = torch.no_grad();
        var kind = model.Prediction;
        var x = noise;
        var n = noise.shape[0];
        for (var i = 0; i < times.Count - 1; i++)
        {
            using var scope = torch.NewDisposeScope();
            var t = torch.full(n, times[i], device: x.device);
            var f = model.GuidedPrediction(x, t, condition, cfg);
            var te = ProbabilityFlow.PerSample(Predictions.SafeTime(schedule, kind, t), x);
            var next = ProbabilityFlow.DdimStep(schedule, Predictions.ToX0(schedule, kind, x, f, te), Predictions.ToEpsilon(schedule, kind, x, f, te), times[i + 1]);
            var previous = x;
            x = next.MoveToOuterDisposeScope();
            if (!ReferenceEquals(previous, noise)) previous.Dispose();
        }
        return ReferenceEquals(x, noise) ? noise.clone() : x;
    }

    public static OdeSolver Parse(string name) => name.ToLowerInvariant() switch
    {
        "euler" => OdeSolver.Euler,
        "heun" => OdeSolver.Heun,
        "ddim" => OdeSolver.Ddim,
        _ => throw new InputException($"solver: unknown solver '{name}' (expected euler, heun or ddim)"),
    };
}
