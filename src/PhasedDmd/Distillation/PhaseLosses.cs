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
    /// The fake score's loss at re-noising times t ∈ (s, upper]: the objective's (Eq. 13, score matching within the
    /// subinterval, or the naive ablation that treats x_s as clean data) on x_t = α_{t|s} x_s + σ_{t|s} ε'.
    /// </summary>
    public static Tensor FakeScore(NoiseSchedule schedule, FakeScore fake, Tensor xs, Tensor t, double s, Tensor? condition,
                                   IFakeScoreObjective objective, double clampMax, Generator rng)
        => FakeScore(schedule, fake, xs, t, s, condition, objective, clampMax, Noise.Gaussian(xs.shape, rng, xs.device));

    /// <summary>The fake score's loss with the re-noising noise ε' given (one row per sample).</summary>
    public static Tensor FakeScore(NoiseSchedule schedule, FakeScore fake, Tensor xs, Tensor t, double s, Tensor? condition,
                                   IFakeScoreObjective objective, double clampMax, Tensor eps)
    {
        var tb = ProbabilityFlow.PerSample(t, xs);
        var sb = torch.full_like(tb, s);
        var xt = SubintervalScoreMatching.ForwardKernel(schedule, xs, eps, tb, sb);
        // In the network's own prediction (method.md §4.5): Eq. 13's value without converting an x_0 or ε output to a velocity.
        var prediction = fake.Network.Predict(xt, t, condition);
        return objective.PerSampleLoss(new FakeScoreBatch(schedule, fake.Network.Prediction, prediction, xs, eps, tb, sb, clampMax)).mean();
    }

    /// <summary>
    /// The generator's surrogate loss (method.md §2, §4.2) and the mean gradient scale. The teacher's and fake
    /// score's predictions at x_t, noised from the boundary sample x_s, give the reverse-KL gradient; the objective
    /// weighs it (<see cref="Objectives.Analytic"/>: the paper's weight, applied at x_s; <see cref="Objectives.Normalized"/>:
    /// the DMD2 normaliser in x_0 space, applied at the exit step's x̂_0).
    /// </summary>
    public static (Tensor Loss, Tensor Scale) Generator(NoiseSchedule schedule, Teacher teacher, FakeScore fake, Tensor xs, Tensor x0Student,
                                                        Tensor t, double s, Tensor? condition, IGeneratorObjective objective, Generator rng)
    {
        Tensor eps;
        using (torch.no_grad()) eps = Noise.Gaussian(xs.shape, rng, xs.device);
        return Generator(schedule, teacher, fake, xs, x0Student, t, s, condition, objective, eps);
    }

    /// <summary>The generator's surrogate loss with the noise ε that noises x_s to x_t given (one row per sample).</summary>
    public static (Tensor Loss, Tensor Scale) Generator(NoiseSchedule schedule, Teacher teacher, FakeScore fake, Tensor xs, Tensor x0Student,
                                                        Tensor t, double s, Tensor? condition, IGeneratorObjective objective, Tensor eps)
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
        // x̂_0 is read from each network's own prediction at one time (method.md §4.5).
        var readTime = Predictions.SafeTime(schedule, kind, tb);
        return objective.Loss(new GeneratorBatch(schedule, kind, xs, x0Student, xt, tb, sb, fTeacher, fFake, readTime));
    }
}
