using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Sampling;

/// <summary>Sampling options of a model directory; null fields fall back to the model card.</summary>
public sealed record SampleOptions(int N = 2000, int? Steps = null, string? Solver = null, double? Cfg = null, int Seed = 0, string Device = "cpu");

/// <summary>A loaded model directory: a teacher (an ODE to integrate) or a student (its own few-step grid).</summary>
public sealed class LoadedModel : IDisposable
{
    public required ModelCard Card { get; init; }
    public VelocityModel? Network { get; init; }
    public StudentGenerator? Student { get; init; }

    public static LoadedModel Load(string dir, Device? device = null)
    {
        var card = ModelDirectory.ReadCard(dir);
        if (card.Student is not null)
        {
            var (c, student) = StudentDirectory.Load(dir, device);
            return new LoadedModel { Card = c, Student = student };
        }
        var (tc, network) = ModelDirectory.Load(dir, device);
        return new LoadedModel { Card = tc, Network = network };
    }

    public bool IsConditional => Network?.IsConditional ?? Student!.Expert(1).IsConditional;

    public void Dispose()
    {
        Network?.Dispose();
        Student?.Dispose();
    }
}

public static class ModelSampling
{
    /// <summary>
    /// Draws N samples from seeded noise: a teacher integrates its probability-flow ODE, a
    /// student runs its N experts' steps. Class-conditional models get labels drawn from the
    /// task's weights. Returns float32 samples on the CPU.
    /// </summary>
    public static Tensor Sample(LoadedModel model, SampleOptions options)
    {
        if (options.N < 1) throw new InputException($"--n: must be ≥ 1 (got {options.N})");
        var card = model.Card;
        var device = Runtime.ResolveDevice(options.Device);
        using var generator = Runtime.NewGenerator(options.Seed);
        using var scope = torch.NewDisposeScope();
        var shape = new long[] { options.N }.Concat(card.Network.SampleShape).ToArray();
        var noise = torch.randn(shape, generator: generator).to(device);
        Tensor? condition = null;
        if (model.IsConditional && card.Task.Mixture is { } mixture)
            condition = torch.multinomial(mixture.WeightsTensor(), options.N, replacement: true, generator: generator).to(device);
        else if (ProceduralTasks.IsProcedural(card.Task.Name))   // prompts drawn from the task's prompt distribution
            condition = ProceduralTasks.Resolve(card.Task.Name).SamplePrompts(options.N, generator).to(device);
        return Integrate(model, noise, condition, generator, options).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Samples a text-conditioned model on a grid: row r uses the noise of seed (options.Seed + r)
    /// for every prompt, so a row shows how one starting noise renders each prompt and a column
    /// shows the diversity of one prompt across seeds (paper Fig. 3). Returns [seeds × prompts, …] row-major.
    /// </summary>
    public static Tensor SamplePromptGrid(LoadedModel model, IReadOnlyList<string> prompts, int seeds, SampleOptions options)
    {
        if (!ProceduralTasks.IsProcedural(model.Card.Task.Name))
            throw new InputException($"--prompt: task '{model.Card.Task.Name}' is not text-conditioned");
        if (prompts.Count == 0 || seeds < 1) throw new InputException("--prompt and --seeds: need at least one prompt and one seed");
        var task = ProceduralTasks.Resolve(model.Card.Task.Name);
        using var scope = torch.NewDisposeScope();
        var device = Runtime.ResolveDevice(options.Device);
        var shape = model.Card.Network.SampleShape;
        var noise = torch.cat(Enumerable.Range(0, seeds).Select(r =>
        {
            using var g = Runtime.NewGenerator(options.Seed + r);
            return torch.randn([1, .. shape], generator: g).expand([prompts.Count, .. shape]);
        }).ToArray()).to(device);
        var condition = task.Encode(Enumerable.Range(0, seeds).SelectMany(_ => prompts)).to(device);
        using var generator = Runtime.NewGenerator(options.Seed);
        return Integrate(model, noise, condition, generator, options).cpu().MoveToOuterDisposeScope();
    }

    private static Tensor Integrate(LoadedModel model, Tensor noise, Tensor? condition, Generator generator, SampleOptions options)
    {
        var card = model.Card;
        if (model.Student is { } student)
        {
            if (options.Steps is { } st && st != student.Layout.Steps)
                throw new InputException($"--steps: a student samples on its own {student.Layout.Steps}-step grid (got {st})");
            if (options.Solver is not null && options.Solver != "euler")
                throw new InputException("--solver: a student uses its own rollout solver");
            if (options.Cfg is { } c && c != 1.0)
                throw new InputException("--cfg: students sample with CFG 1 (guidance is distilled into them)");
            return student.Sample(noise, condition, generator);
        }
        var steps = options.Steps ?? card.Sampling.Steps;
        if (steps < 1) throw new InputException($"--steps: must be ≥ 1 (got {steps})");
        var solver = OdeSolvers.Parse(options.Solver ?? card.Sampling.Solver);
        var cfg = options.Cfg ?? card.Sampling.Cfg;
        var times = Timesteps.Grid(steps, card.Sampling.Shift);
        return OdeSolvers.Integrate(model.Network!, noise, times, condition, cfg, solver);
    }

    /// <summary>Teacher-only convenience overload.</summary>
    public static Tensor Sample(ModelCard card, VelocityModel model, SampleOptions options)
        => Sample(new LoadedModel { Card = card, Network = model }, options);
}
