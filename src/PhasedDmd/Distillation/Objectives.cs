using PhasedDmd.Diffusion;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// The fake score's objective: its loss on boundary samples x_s re-noised to x_t, t ∈ (s, upper] (method.md §4.3).
/// Built in: <c>subinterval</c> (Eq. 13) and <c>naive</c> (the ablation); register your own with
/// <see cref="Objectives.Register(IFakeScoreObjective)"/> and name it in <c>fakeObjective</c>.
/// </summary>
public interface IFakeScoreObjective
{
    /// <summary>The name in configs (<c>fakeObjective</c>) and on the command line (<c>--fake-objective</c>).</summary>
    string Name { get; }

    /// <summary>The loss of each sample, [B]; the fake score's loss is its mean.</summary>
    Tensor PerSampleLoss(FakeScoreBatch batch);
}

/// <summary>
/// The generator's objective: a surrogate loss whose gradient is the distribution-matching gradient at the phase
/// boundary (method.md §2, §4.2), and a scale to log. Built in: <c>normalized</c> (the DMD2 normaliser) and
/// <c>analytic</c> (the paper's weight); register your own with <see cref="Objectives.Register(IGeneratorObjective)"/>
/// and name it in <c>dmdLoss</c>.
/// </summary>
public interface IGeneratorObjective
{
    /// <summary>The name in configs (<c>dmdLoss</c>) and on the command line (<c>--dmd-loss</c>).</summary>
    string Name { get; }

    /// <summary>
    /// The surrogate loss (its gradient reaches the expert through <see cref="GeneratorBatch.Xs"/> or <see cref="GeneratorBatch.X0Student"/>)
    /// and the mean gradient scale, a scalar tensor (read on the host only when the update is logged).
    /// </summary>
    (Tensor Loss, Tensor Scale) Loss(GeneratorBatch batch);
}

/// <summary>What a fake-score objective sees: x_t = α_{t|s} x_s + σ_{t|s} ε' and the network's prediction there, in its own parameterisation.</summary>
/// <param name="Kind">What the fake score predicts (method.md §4.5).</param>
/// <param name="T">t per sample, broadcast as [B, 1, …].</param>
/// <param name="S">The boundary s, broadcast like <paramref name="T"/>.</param>
/// <param name="ClampMax">Upper clamp of 1/σ²_{t|s} in Eq. 13 (<c>fakeLossClamp</c>).</param>
public sealed record FakeScoreBatch(NoiseSchedule Schedule, Prediction Kind, Tensor Prediction, Tensor Xs, Tensor Eps, Tensor T, Tensor S, double ClampMax);

/// <summary>
/// What a generator objective sees: the student's boundary sample x_s (with gradient) and its x̂_0 at the exit step, x_s
/// noised to x_t, and the teacher's and fake score's predictions there (no gradient), read at <paramref name="ReadTime"/>.
/// </summary>
/// <param name="T">t per sample, broadcast as [B, 1, …].</param>
/// <param name="S">The boundary s, broadcast like <paramref name="T"/>.</param>
/// <param name="ReadTime">The time x̂_0 is read at (<see cref="Predictions.SafeTime"/>: t for velocity networks).</param>
public sealed record GeneratorBatch(NoiseSchedule Schedule, Prediction Kind, Tensor Xs, Tensor X0Student, Tensor Xt, Tensor T, Tensor S,
                                    Tensor TeacherPrediction, Tensor FakePrediction, Tensor ReadTime)
{
    /// <summary>The teacher's x̂_0, read directly from its prediction (no round trip through the velocity).</summary>
    public Tensor X0Teacher() => Predictions.ToX0(Schedule, Kind, Xt, TeacherPrediction, ReadTime);

    /// <summary>The fake score's x̂_0.</summary>
    public Tensor X0Fake() => Predictions.ToX0(Schedule, Kind, Xt, FakePrediction, ReadTime);
}

/// <summary>The objectives by name: the built-in ones and any you register.</summary>
public static class Objectives
{
    /// <summary>Score matching within the subinterval, stable form (Eq. 13).</summary>
    public static readonly IFakeScoreObjective Subinterval = new FakeScoreObjective("subinterval",
        b => SubintervalScoreMatching.StableLoss(b.Schedule, b.Kind, b.Prediction, b.Xs, b.Eps, b.T, b.S, b.ClampMax));

    /// <summary>Pretend x_s is clean data (biased; the ablation of App. E.2).</summary>
    public static readonly IFakeScoreObjective Naive = new FakeScoreObjective("naive",
        b => SubintervalScoreMatching.NaiveLoss(b.Schedule, b.Kind, b.Prediction, b.Xs, b.Eps, b.T));

    /// <summary>The DMD2 normaliser in x_0 space, applied at the student's x̂_0 (the authors' later trainer; measured better here).</summary>
    public static readonly IGeneratorObjective Normalized = new GeneratorObjective("normalized", b =>
    {
        var (gn, normalizer) = DistributionMatching.NormalizedGradient(b.X0Student.detach(), b.X0Teacher(), b.X0Fake());
        return (DistributionMatching.SurrogateLoss(b.X0Student, gn), normalizer.mean());
    });

    /// <summary>The paper's analytic weight on the difference of the two predictions, applied at the boundary sample x_s.</summary>
    public static readonly IGeneratorObjective Analytic = new GeneratorObjective("analytic", b =>
    {
        var w = DistributionMatching.AnalyticWeight(b.Schedule, b.T, b.S).mean();
        var g = b.Kind == Prediction.Velocity
            ? DistributionMatching.AnalyticGradient(b.Schedule, b.TeacherPrediction, b.FakePrediction, b.T, b.S)
            : DistributionMatching.AnalyticGradientFromX0(b.Schedule, b.X0Teacher(), b.X0Fake(), b.ReadTime, b.S);
        return (DistributionMatching.SurrogateLoss(b.Xs, g), w);
    });

    private static readonly Lock Gate = new();
    private static readonly List<IFakeScoreObjective> FakeScoreObjectives = [Subinterval, Naive];
    private static readonly List<IGeneratorObjective> GeneratorObjectives = [Normalized, Analytic];

    /// <summary>Makes a fake-score objective known by its name (the same object again is harmless; a taken name is an error).</summary>
    public static void Register(IFakeScoreObjective objective) => Add(FakeScoreObjectives, objective, objective.Name);

    /// <summary>Makes a generator objective known by its name (the same object again is harmless; a taken name is an error).</summary>
    public static void Register(IGeneratorObjective objective) => Add(GeneratorObjectives, objective, objective.Name);

    /// <summary>The fake-score objective of that name; an <see cref="InputException"/> naming <c>fakeObjective</c> and the registered ones otherwise.</summary>
    public static IFakeScoreObjective FakeScore(string name) => Find(FakeScoreObjectives, name, o => o.Name, "fakeObjective");

    /// <summary>The generator objective of that name; an <see cref="InputException"/> naming <c>dmdLoss</c> and the registered ones otherwise.</summary>
    public static IGeneratorObjective Generator(string name) => Find(GeneratorObjectives, name, o => o.Name, "dmdLoss");

    private static void Add<T>(List<T> list, T objective, string name) where T : class
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("an objective needs a non-empty name", nameof(objective));
        lock (Gate)
        {
            var existing = list.FirstOrDefault(o => NameOf(o) == name);
            if (existing == objective) return;
            if (existing is not null) throw new ArgumentException($"objective '{name}' is already registered ({existing.GetType().Name})", nameof(objective));
            list.Add(objective);
        }
    }

    private static string NameOf(object o) => o switch { IFakeScoreObjective f => f.Name, IGeneratorObjective g => g.Name, _ => "" };

    private static T Find<T>(List<T> list, string name, Func<T, string> nameOf, string key)
    {
        lock (Gate)
            return list.FirstOrDefault(o => nameOf(o) == name)
                   ?? throw new InputException($"{key}: unknown objective '{name}' (registered: {string.Join(", ", list.Select(nameOf))})");
    }

    private sealed class FakeScoreObjective(string name, Func<FakeScoreBatch, Tensor> loss) : IFakeScoreObjective
    {
        public string Name => name;
        public Tensor PerSampleLoss(FakeScoreBatch batch) => loss(batch);
    }

    private sealed class GeneratorObjective(string name, Func<GeneratorBatch, (Tensor, Tensor)> loss) : IGeneratorObjective
    {
        public string Name => name;
        public (Tensor Loss, Tensor Scale) Loss(GeneratorBatch batch) => loss(batch);
    }
}
