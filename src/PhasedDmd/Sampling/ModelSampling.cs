using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Sampling;

public static class ModelSampling
{
    /// <summary>
    /// Draws N samples from seeded noise: a teacher integrates its probability-flow ODE, a
    /// student runs its N experts' steps. Class-conditional models get labels drawn from the
    /// task's weights. Returns float32 samples on the CPU.
    /// </summary>
    public static Tensor Sample(LoadedModel model, SampleOptions options)
    {
        if (options.N < 1) throw new InputException($"n: must be ≥ 1 (got {options.N})");
        var card = model.Card;
        var device = Runtime.ResolveDevice(options.Device);
        using var generator = Runtime.NewGenerator(options.Seed);
        using var scope = torch.NewDisposeScope();
        var shape = new long[] { options.N }.Concat(card.Network.SampleShape).ToArray();
        var noise = Noise.Gaussian(shape, generator, device);
        var source = IConditionSource.For(card, model.IsConditional);
        using var _ = source as IDisposable;
        var condition = source?.Sample(options.N, generator).to(device);
        return Integrate(model, noise, condition, generator, options).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Samples from the given starting noise [N, sample shape] (e.g. read with <see cref="NoiseCsv"/>), so
    /// that two implementations can be compared on identical noise; conditions and any solver noise
    /// still come from the seed.
    /// </summary>
    public static Tensor SampleFrom(LoadedModel model, Tensor noise, SampleOptions options)
    {
        var shape = model.Card.Network.SampleShape;
        if (!noise.shape.Skip(1).SequenceEqual(shape))
            throw new InputException($"noise: samples of shape [{string.Join(", ", noise.shape.Skip(1))}], but the model's are [{string.Join(", ", shape)}]");
        var device = Runtime.ResolveDevice(options.Device);
        using var generator = Runtime.NewGenerator(options.Seed);
        using var scope = torch.NewDisposeScope();
        var source = IConditionSource.For(model.Card, model.IsConditional);
        using var _ = source as IDisposable;
        var condition = source?.Sample((int)noise.shape[0], generator).to(device);
        return Integrate(model, noise.to(device), condition, generator, options).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Samples each given row of a model's conditions file N times on the same noise (the given noise,
    /// or N draws from the seed): the result holds N samples per row, rows in the order given.
    /// </summary>
    public static Tensor SamplePrompts(LoadedModel model, IReadOnlyList<int> rows, Tensor? noise, SampleOptions options)
    {
        if (IConditionSource.For(model.Card, model.IsConditional) is not FileConditions source)
            throw new InputException("prompt: this model has no conditions file");
        using var _ = source;
        if (rows.Count == 0) throw new InputException("prompt: give at least one row");
        var shape = model.Card.Network.SampleShape;
        if (noise is not null && !noise.shape.Skip(1).SequenceEqual(shape))
            throw new InputException($"noise: samples of shape [{string.Join(", ", noise.shape.Skip(1))}], but the model's are [{string.Join(", ", shape)}]");
        if (noise is null && options.N < 1) throw new InputException($"n: must be ≥ 1 (got {options.N})");
        var device = Runtime.ResolveDevice(options.Device);
        using var generator = Runtime.NewGenerator(options.Seed);
        using var scope = torch.NewDisposeScope();
        var start = noise ?? torch.randn([options.N, .. shape], generator: generator);
        var n = (int)start.shape[0];
        var x = torch.cat(rows.Select(_ => start).ToArray()).to(device);
        var condition = torch.cat(rows.Select(r => source.Repeat(r, n)).ToArray()).to(device);
        return Integrate(model, x, condition, generator, options).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Samples a class-conditional model with a conditions file on a class grid: row r draws one noise per class from seed
    /// (options.Seed + r), so every cell starts from its own noise and every model of the task from the same ones. The classes
    /// are rows of the conditions file, by name. Returns [perClass × classes, …] row-major, on the CPU.
    /// </summary>
    /// <param name="progress">Called with (samples done, samples in all) after each chunk.</param>
    public static Tensor SampleClassGrid(LoadedModel model, IReadOnlyList<string> classes, int perClass, SampleOptions options, Action<int, int>? progress = null)
    {
        if (IConditionSource.For(model.Card, model.IsConditional) is not FileConditions source)
            throw new InputException($"task: '{model.Card.Task.Name}' models are sampled per class, and this model has no conditions file");
        using var _ = source;
        if (classes.Count == 0 || perClass < 1) throw new InputException("classes and seeds: need at least one class and one seed");
        var rows = classes.Select(source.File.Resolve).Select(r => (long)r).ToArray();
        using var scope = torch.NewDisposeScope();
        var device = Runtime.ResolveDevice(options.Device);
        var shape = model.Card.Network.SampleShape;
        var noise = torch.cat(Enumerable.Range(0, perClass).Select(r =>
        {
            using var g = Runtime.NewGenerator(options.Seed + r);
            return torch.randn([classes.Count, .. shape], generator: g);
        }).ToArray()).to(device);
        var condition = source.File.Rows(torch.tensor(rows).repeat(perClass)).to(device);
        using var generator = Runtime.NewGenerator(options.Seed);
        // In chunks: a grid of images in one batch makes every activation a fresh allocation of hundreds of MB (the time goes to page faults).
        var total = (int)noise.shape[0];
        var chunks = new List<Tensor>();
        foreach (var (x, c) in noise.split(ClassGridChunk).Zip(condition.split(ClassGridChunk)))
        {
            chunks.Add(Integrate(model, x, c, generator, options).cpu());
            progress?.Invoke(Math.Min(total, chunks.Count * ClassGridChunk), total);
        }
        return torch.cat(chunks).MoveToOuterDisposeScope();
    }

    /// <summary>Samples integrated together on a class grid (a few MB of activations per layer for 28×28 images).</summary>
    public const int ClassGridChunk = 100;

    /// <summary>
    /// Samples a text-conditioned model on a grid: row r uses the noise of seed (options.Seed + r)
    /// for every prompt, so a row shows how one starting noise renders each prompt and a column
    /// shows the diversity of one prompt across seeds (paper Fig. 3). Returns [seeds × prompts, …] row-major.
    /// With <paramref name="sharedNoise"/> false, row r draws one noise per prompt from seed (options.Seed + r)
    /// instead, so every cell of the grid starts from its own noise (still the same for every model).
    /// </summary>
    public static Tensor SamplePromptGrid(LoadedModel model, IReadOnlyList<string> prompts, int seeds, SampleOptions options, bool sharedNoise = true)
    {
        var task = TaskRegistry.TryFind(model.Card.Task.Name)?.Procedural
                   ?? throw new InputException($"prompts: task '{model.Card.Task.Name}' is not text-conditioned");
        if (prompts.Count == 0 || seeds < 1) throw new InputException("prompts and seeds: need at least one prompt and one seed");
        using var scope = torch.NewDisposeScope();
        var device = Runtime.ResolveDevice(options.Device);
        var shape = model.Card.Network.SampleShape;
        var noise = torch.cat(Enumerable.Range(0, seeds).Select(r =>
        {
            using var g = Runtime.NewGenerator(options.Seed + r);
            return sharedNoise ? torch.randn([1, .. shape], generator: g).expand([prompts.Count, .. shape])
                               : torch.randn([prompts.Count, .. shape], generator: g);
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
                throw new InputException($"steps: a student samples on its own {student.Layout.Steps}-step grid (got {st})");
            if (options.Solver is not null && options.Solver != "euler" && options.Solver != "ddim")
                throw new InputException("solver: a student uses its own rollout solver");
            if (options.Cfg is { } c && c != 1.0)
                throw new InputException("cfg: students sample with CFG 1 (guidance is distilled into them)");
            return student.Sample(noise, condition, generator);
        }
        var steps = options.Steps ?? card.Sampling.Steps;
        if (steps < 1) throw new InputException($"steps: must be ≥ 1 (got {steps})");
        var solver = OdeSolvers.Parse(options.Solver ?? card.Sampling.Solver);
        var cfg = options.Cfg ?? card.Sampling.Cfg;
        var times = Timesteps.Grid(steps, card.Sampling.Shift);
        return OdeSolvers.Integrate(model.Network!, noise, times, condition, cfg, solver, NoiseSchedule.FromName(card.Schedule));
    }

    /// <summary>Teacher-only convenience overload.</summary>
    public static Tensor Sample(ModelCard card, VelocityModel model, SampleOptions options)
        => Sample(new LoadedModel { Card = card, Network = model }, options);
}
