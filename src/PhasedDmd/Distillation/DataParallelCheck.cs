using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// Checks a data-parallel group against the single-process truth it must reproduce. On the same
/// weights (seeded identically on every rank) and one fixed batch, each rank takes its share of the
/// rows, computes the phase's two losses (the fake score's Eq. 13 and the generator's DMD surrogate)
/// and averages the gradients over the group; every rank also computes the gradients of the whole
/// batch alone. Because both losses are means over samples, the average of equal shares' gradients
/// equals the whole batch's gradient, up to floating-point rounding.
/// </summary>
public static class DataParallelCheck
{
    /// <summary>What the check measured (errors are max |averaged − whole batch| over every gradient entry).</summary>
    public sealed record Result(int Ranks, bool CollectivesCorrect, double FakeGradientError, double GeneratorGradientError, bool IdenticalAfterStep)
    {
        public bool Passed(double tolerance) => CollectivesCorrect && IdenticalAfterStep && FakeGradientError <= tolerance && GeneratorGradientError <= tolerance;
    }

    /// <param name="perturbRank">A rank whose weights are nudged before the step (to test the identity guard); null for none.</param>
    public static Result Run(IGradientSync sync, int batch = 64, double boundary = 0.5, int? perturbRank = null)
    {
        if (batch % sync.WorldSize != 0) throw new InputException($"batch: {batch} does not split evenly over {sync.WorldSize} ranks");
        var share = batch / sync.WorldSize;
        var collectives = CollectivesAreCorrect(sync);

        torch.manual_seed(1234);   // the same weights on every rank
        var spec = new MlpSpec(DataDim: 2, Hidden: 32, Layers: 3);
        var card = new ModelCard { Task = new TaskSpec("ring8"), Network = spec };
        var config = new DistillConfig();
        using var teacherNet = spec.Build();
        var teacher = new Teacher(card, teacherNet, 1.0, CPU);
        using var fake = FakeScore.FromTeacher(teacher, config, CPU);
        using var generator = spec.Build();
        StudentGenerator.CopyWeights(teacherNet, generator);
        using var rng = Runtime.NewGenerator(99);
        using (torch.no_grad())   // fake score and generator away from the teacher, or the DMD gradient would vanish
            foreach (var p in fake.Parameters.Concat(generator.parameters())) p.add_(torch.randn(p.shape, generator: rng) * 0.05);
        var generatorParameters = generator.parameters().ToList();

        using var scope = torch.NewDisposeScope();
        var z = torch.randn([batch, 2], generator: rng);
        var xs = torch.randn([batch, 2], generator: rng);
        var tFake = torch.rand([batch], generator: rng) * (1 - boundary) + boundary;
        var epsFake = torch.randn([batch, 2], generator: rng);
        var tGen = torch.rand([batch], generator: rng) * (1 - boundary) + boundary;
        var epsGen = torch.randn([batch, 2], generator: rng);

        List<Tensor> FakeGradients(long start, long rows)
        {
            fake.Optimizer.zero_grad();
            PhaseLosses.FakeScore(teacher.Schedule, fake, xs.narrow(0, start, rows), tFake.narrow(0, start, rows), boundary, null,
                                  Objectives.Subinterval, config.FakeLossClamp, epsFake.narrow(0, start, rows)).BackwardWithoutOneDnn();
            return [.. fake.Parameters.Select(p => p.grad!.clone())];
        }

        List<Tensor> GeneratorGradients(long start, long rows, OptimizerHelper optimizer)
        {
            optimizer.zero_grad();
            var zr = z.narrow(0, start, rows);
            var v = generator.Forward(zr, torch.ones(rows), null);   // one student step from t = 1
            var x0 = zr - v;
            var xsGen = zr + (boundary - 1) * v;
            PhaseLosses.Generator(teacher.Schedule, teacher, fake, xsGen, x0, tGen.narrow(0, start, rows), boundary, null,
                                  Objectives.Normalized, epsGen.narrow(0, start, rows)).Loss.BackwardWithoutOneDnn();
            return [.. generatorParameters.Select(p => p.grad!.clone())];
        }

        using var optimizer = optim.AdamW(generatorParameters, lr: 1e-2);
        var fakeWhole = FakeGradients(0, batch);
        FakeGradients(sync.Rank * share, share);
        sync.AverageGradients(fake.Parameters);
        var fakeError = MaxError(fake.Parameters, fakeWhole);

        var generatorWhole = GeneratorGradients(0, batch, optimizer);
        GeneratorGradients(sync.Rank * share, share, optimizer);
        sync.AverageGradients(generatorParameters);
        var generatorError = MaxError(generatorParameters, generatorWhole);

        optimizer.step();
        if (perturbRank == sync.Rank)
            using (torch.no_grad()) generatorParameters[0].add_(1e-3);
        bool identical;
        try
        {
            sync.RequireIdentical(generatorParameters, "the generator");
            identical = true;
        }
        catch (DivergenceException) { identical = false; }
        return new Result(sync.WorldSize, collectives, fakeError, generatorError, identical);
    }

    /// <summary>The collectives on known inputs: the mean of rank + 1 is (R + 1)/2; any/all of "rank is 0"; the gathered ranks.</summary>
    private static bool CollectivesAreCorrect(IGradientSync sync)
    {
        using var scope = torch.NewDisposeScope();
        var p = new Parameter(torch.zeros(3));
        p.grad = torch.full(3, (float)(sync.Rank + 1));
        sync.AverageGradients([p]);
        var meanOk = p.grad.allclose(torch.full(3, (sync.WorldSize + 1) / 2f));
        var anyOk = sync.AnyTrue(sync.Rank == 0) && !sync.AnyTrue(false);
        var allOk = sync.AllFinite(sync.Rank == 0) == (sync.WorldSize == 1) && sync.AllFinite(true);
        var gathered = sync.AllGather([(byte)sync.Rank, 7]);
        var gatherOk = gathered.Length == sync.WorldSize && gathered.Select((g, r) => g[0] == r && g[1] == 7).All(ok => ok);
        return meanOk && anyOk && allOk && gatherOk;
    }

    private static double MaxError(IReadOnlyList<Parameter> parameters, List<Tensor> whole)
        => parameters.Zip(whole).Max(pw =>
        {
            using var d = (pw.First.grad! - pw.Second).abs().max();
            return d.to(ScalarType.Float64).item<double>();
        });
}
