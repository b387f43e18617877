using PhasedDmd.Diffusion;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// The two losses of a phase, built from the pure functions of <see cref="SubintervalScoreMatching"/>
/// and <see cref="DistributionMatching"/>: the fake score's loss on detached boundary samples, and
/// the generator's surrogate whose gradient is the DMD gradient at the boundary.
/// </summary>
public static class PhaseLosses
{
    /// <summary>
    /// The fake score's loss at re-noising times t ∈ (s, upper]: Eq. 13 (score matching within the
    /// subinterval, stable form) on x_t = α_{t|s} x_s + σ_{t|s} ε', or the naive ablation that treats x_s as clean data.
    /// </summary>
    public static Tensor FakeScore(NoiseSchedule schedule, FakeScore fake, Tensor xs, Tensor t, double s, Tensor? condition,
                                   FakeObjective objective, double clampMax, Generator rng)
        => FakeScore(schedule, fake, xs, t, s, condition, objective, clampMax, torch.randn(xs.shape, generator: rng).to(xs.device));

    /// <summary>The fake score's loss with the re-noising noise ε' given (one row per sample).</summary>
    public static Tensor FakeScore(NoiseSchedule schedule, FakeScore fake, Tensor xs, Tensor t, double s, Tensor? condition,
                                   FakeObjective objective, double clampMax, Tensor eps)
    {
        var tb = ProbabilityFlow.PerSample(t, xs);
        var sb = torch.full_like(tb, s);
        var xt = SubintervalScoreMatching.ForwardKernel(schedule, xs, eps, tb, sb);
        // In the network's own prediction (method.md §4.5): Eq. 13's value without converting an x_0 or ε output to a velocity.
        var kind = fake.Network.Prediction;
        var prediction = fake.Network.Predict(xt, t, condition);
        var perSample = objective == FakeObjective.Subinterval
            ? SubintervalScoreMatching.StableLoss(schedule, kind, prediction, xs, eps, tb, sb, clampMax)
            : SubintervalScoreMatching.NaiveLoss(schedule, kind, prediction, xs, eps, tb);
        return perSample.mean();
    }

    /// <summary>
    /// The generator's surrogate loss (method.md §2, §4.2) and the mean gradient scale. The teacher's
    /// and fake score's velocities at x_t, noised from the boundary sample x_s, give the reverse-KL
    /// gradient: with <see cref="DmdLoss.Analytic"/> the paper's weight on their difference, applied at
    /// x_s; with <see cref="DmdLoss.Normalized"/> the DMD2 normaliser in x_0 space, applied at the
    /// exit step's x̂_0.
    /// </summary>
    public static (Tensor Loss, double Scale) Generator(NoiseSchedule schedule, Teacher teacher, FakeScore fake, Tensor xs, Tensor x0Student,
                                                        Tensor t, double s, Tensor? condition, DmdLoss loss, Generator rng)
    {
        Tensor eps;
        using (torch.no_grad()) eps = torch.randn(xs.shape, generator: rng).to(xs.device);
        return Generator(schedule, teacher, fake, xs, x0Student, t, s, condition, loss, eps);
    }

    /// <summary>The generator's surrogate loss with the noise ε that noises x_s to x_t given (one row per sample).</summary>
    public static (Tensor Loss, double Scale) Generator(NoiseSchedule schedule, Teacher teacher, FakeScore fake, Tensor xs, Tensor x0Student,
                                                        Tensor t, double s, Tensor? condition, DmdLoss loss, Tensor eps)
    {
        Tensor fTeacher, fFake, xt, tb, sb;
        var kind = teacher.Network.Prediction;
        using (torch.no_grad())
        {
            tb = ProbabilityFlow.PerSample(t, xs);
            sb = torch.full_like(tb, s);
            xt = SubintervalScoreMatching.ForwardKernel(schedule, xs.detach(), eps, tb, sb);
            fTeacher = teacher.Predict(xt, t, condition);
            fFake = fake.Network.Predict(xt, t, condition);
        }
        // x̂_0 read directly from each network's own prediction (no round trip through the velocity), at the time it was read.
        var te = Predictions.SafeTime(schedule, kind, tb);
        if (loss == DmdLoss.Analytic)
        {
            var w = DistributionMatching.AnalyticWeight(schedule, tb, sb).mean().to(ScalarType.Float64).item<double>();
            var g = kind == Prediction.Velocity
                ? DistributionMatching.AnalyticGradient(schedule, fTeacher, fFake, tb, sb)
                : DistributionMatching.AnalyticGradientFromX0(schedule, Predictions.ToX0(schedule, kind, xt, fTeacher, te),
                                                              Predictions.ToX0(schedule, kind, xt, fFake, te), te, sb);
            return (DistributionMatching.SurrogateLoss(xs, g), w);
        }
        var x0Teacher = Predictions.ToX0(schedule, kind, xt, fTeacher, te);
        var x0Fake = Predictions.ToX0(schedule, kind, xt, fFake, te);
        var (gn, normalizer) = DistributionMatching.NormalizedGradient(x0Student.detach(), x0Teacher, x0Fake);
        return (DistributionMatching.SurrogateLoss(x0Student, gn), normalizer.mean().to(ScalarType.Float64).item<double>());
    }
}
