using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Tasks;

/// <summary>
/// <c>fashion-mnist</c>: real images (<see cref="FashionMnist"/>, Debian's <c>dataset-fashion-mnist</c>). Its teachers come from
/// PyTorch (<c>examples/fashion-mnist/train_teacher.py</c>, imported with <c>import-teacher --task fashion-mnist</c>); a model is
/// measured on a class grid against the test split in the feature space of a classifier trained on the training split
/// (<see cref="ClassImageEvaluation"/>).
/// </summary>
public sealed class FashionMnistDefinition : TaskDefinition, IClassImageTask
{
    public override string Name => "fashion-mnist";
    public override string Summary => "real 28×28 grey images of clothing in 10 classes (Fashion-MNIST, Debian's dataset-fashion-mnist); teachers come from PyTorch";
    public override bool HasTrainingData => false;

    public IReadOnlyList<string> ClassNames => FashionMnist.ClassNames;
    public long[] SampleShape => [1, FashionMnist.Size, FashionMnist.Size];
    public int EvaluationSamplesPerClass => 100;

    public override TeacherData OpenTeacherData(TeacherConfig config)
        => throw new InputException("task: fashion-mnist teachers are trained in PyTorch (examples/fashion-mnist/train_teacher.py) and brought in with import-teacher --task fashion-mnist");

    /// <summary>As any imported teacher's: from what the network is (its sample size, guidance, schedule and prediction).</summary>
    public override DistillConfig DistillDefaults(ModelCard teacher) => ImportedTask.Instance.DistillDefaults(teacher);

    public string? CheckImported(long[] sampleShape, IReadOnlyList<string>? conditionNames)
    {
        if (!sampleShape.SequenceEqual(SampleShape))
            return $"fashion-mnist images are [{string.Join(", ", SampleShape)}] (got a sample shape of [{string.Join(", ", sampleShape)}])";
        if (conditionNames is null) return "a fashion-mnist model is class-conditional: give --conditions and --names naming the classes " + string.Join(", ", ClassNames);
        var missing = ClassNames.Where(c => !conditionNames.Contains(c)).ToList();
        return missing.Count == 0 ? null : $"the names file does not name the fashion-mnist classes {string.Join(", ", missing)} (expected {string.Join(", ", ClassNames)})";
    }

    /// <summary>A classifier of the ten classes: the encoder's one head is the class, and its embedding the feature space.</summary>
    public EncoderSpec Encoder => new(Name, 1, [FashionMnist.ClassNames.Count], ["class"], [], ImageSize: FashionMnist.Size);

    /// <summary>Random training images with their classes.</summary>
    public (Tensor X, Tensor Categories, Tensor Regressions) EncoderBatch(int n, Generator generator)
    {
        var train = FashionMnist.Load("train");
        var indices = train.RandomIndices(n, generator);
        return (train.Images(indices), train.Labels(indices).unsqueeze(1), torch.zeros(n, 0));
    }

    /// <summary>The whole test split (10 000 images), whatever <paramref name="n"/> asks.</summary>
    public (Tensor X, Tensor Categories, Tensor Regressions) EncoderValidation(int n, Generator generator)
    {
        var test = FashionMnist.Load("test");
        var all = Enumerable.Range(0, test.Count).ToArray();
        return (test.Images(all), test.Labels(all).unsqueeze(1), torch.zeros(test.Count, 0));
    }

    public Tensor ReferenceGrid(int perClass)
    {
        var test = FashionMnist.Load("test");
        return test.Images(test.ClassGrid(perClass));
    }

    public Tensor TrainingGrid(int perClass, int seed)
    {
        var train = FashionMnist.Load("train");
        using var generator = Runtime.NewGenerator(seed + 7919);
        return train.Images(train.ClassGrid(perClass, train.Permutation(generator)));
    }
}
