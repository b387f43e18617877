using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.Training;

namespace PhasedDmd.Tasks;

/// <summary>
/// A task on points (1-D, 2-D, small vectors) whose distribution is a known Gaussian mixture: the teacher is an
/// MLP, and a model is scored by sampling it and comparing with the mixture (<see cref="Evaluation.MixtureMetrics"/>:
/// mode coverage, weight TV, off-mode mass, MMD). A class-conditional teacher is conditioned on the mixture component.
/// </summary>
public class PointTask(string name, string summary, Func<TeacherConfig, GaussianMixture> mixture) : TaskDefinition
{
    /// <summary>The paper's 1-D toy (Fig. 2).</summary>
    public static readonly PointTask Gmm1d = new("gmm1d", "the paper's 1-D toy: 4 tiny modes at −1, 0, 1, 2", _ => MixtureTasks.Gmm1d());
    /// <summary>8 imbalanced modes on a circle.</summary>
    public static readonly PointTask Ring8 = new("ring8", "8 imbalanced 2-D modes on a circle of radius 4", _ => MixtureTasks.Ring8());
    /// <summary>A 3×3 grid of modes.</summary>
    public static readonly PointTask Grid9 = new("grid9", "a 3×3 grid of 2-D modes, mildly imbalanced", _ => MixtureTasks.Grid9());
    /// <summary>A mixture of the user's, from a JSON file (means, stds, weights).</summary>
    public static readonly PointTask UserMixture = new("mixture", "your own Gaussian mixture from a JSON file (--mixture FILE)", c => c.MixtureFile is { } file
        ? GaussianMixture.Load(file) : throw new InputException("mixtureFile: task 'mixture' needs --mixture FILE"));

    public override string Name => name;
    public override string Summary => summary;

    /// <summary>The exact distribution the teacher of <paramref name="config"/> learns.</summary>
    public GaussianMixture Mixture(TeacherConfig config) => mixture(config);

    public override void Validate(TeacherConfig config)
    {
        if (this == UserMixture && string.IsNullOrEmpty(config.MixtureFile)) throw new InputException("mixtureFile: task 'mixture' needs --mixture FILE");
    }

    public override TeacherData OpenTeacherData(TeacherConfig config)
    {
        var m = Mixture(config);
        var spec = new MlpSpec(m.Dim, config.Hidden, config.Layers, config.TimeEmbedDim, config.ClassConditional ? m.Count : 0);
        return new TeacherData(spec, new TaskSpec(Name, m), (n, g) => m.Sample(n, g));
    }
}

/// <summary>
/// The task of a model imported from TorchScript (<c>import-teacher</c>): its data is the user's, so it has none
/// here; it is scored as points against a mixture the user gives (<c>eval --mixture</c>), and its conditions come
/// from its conditions file. Its distillation defaults follow what the network is (<see cref="DistillDefaults"/>).
/// </summary>
public sealed class ImportedTask : TaskDefinition
{
    public static readonly ImportedTask Instance = new();

    private ImportedTask() { }

    public override string Name => "imported";
    public override string Summary => "a model imported from TorchScript (import-teacher); it brings no data";
    public override bool HasTrainingData => false;

    public override TeacherData OpenTeacherData(TeacherConfig config)
        => throw new InputException($"task: 'imported' is the task import-teacher records; train-teacher needs a task with data ({TaskRegistry.Names<ITeacherTask>(t => t.HasTrainingData)})");

    /// <summary>
    /// From what the teacher is: a sample of more than <see cref="DistillConfig.SmallSample"/> numbers gets
    /// <see cref="DistillConfig.LargeSampleDefaults"/>; the card's guidance is the teacherCfg; the network's sampler
    /// and shift are the student's (DDIM steps on a discrete VP schedule); an ε network's experts train at a third of
    /// the learning rate.
    /// </summary>
    public override DistillConfig DistillDefaults(ModelCard teacher)
    {
        var large = teacher.Network.SampleShape.Aggregate(1L, (a, d) => a * d) > DistillConfig.SmallSample;
        var basis = (large ? DistillConfig.LargeSampleDefaults : new DistillConfig()) with { TeacherCfg = teacher.Sampling.Cfg };
        basis = basis with { Shift = teacher.Sampling.Shift, Solver = teacher.Sampling.Solver == "ddim" ? RolloutSolver.Ddim : RolloutSolver.Euler };
        // An ε expert's first steps read x̂_0 = (x − σ ε̂)/α at σ/α up to 15 (method.md §4.5): each training step moves its
        // sample about 15 times as far as a velocity expert's, so it trains at a third of the learning rate (docs/import.md).
        return teacher.Network.Output == Prediction.Epsilon ? basis with { GeneratorLearningRate = basis.GeneratorLearningRate / DistillConfig.EpsilonLearningRateDivisor } : basis;
    }
}
