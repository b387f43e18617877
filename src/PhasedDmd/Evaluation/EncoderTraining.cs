using PhasedDmd.IO;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Evaluation;

/// <summary>
/// Trains a <see cref="FeatureEncoder"/> on fresh procedural samples to predict their true
/// attributes: cross-entropy for the categorical ones, squared error for the normalised continuous
/// ones. Inputs get Gaussian noise of a random level in [0, MaxInputNoise], so imperfect generated
/// samples are still read sensibly. Writes <c>encoder.safetensors</c> (+ SHA-256) and <c>encoder.json</c>.
/// </summary>
public static class EncoderTraining
{
    public const string WeightsFile = "encoder.safetensors";
    public const string CardFile = "encoder.json";

    /// <summary>The shipped feature encoder of a task (assets/encoders/&lt;task&gt;); null if none.</summary>
    public static string? Shipped(string task) => Assets.Find(Path.Combine("encoders", task), CardFile);

    /// <summary>Sum of the heads' cross-entropies and the regressions' mean squared error.</summary>
    public static Tensor Loss(FeatureEncoder encoder, Tensor x, Tensor categories, Tensor regressions)
    {
        var output = encoder.Heads(encoder.forward(x));
        var loss = torch.zeros(1, device: x.device);
        var offset = 0;
        for (var h = 0; h < encoder.Spec.Categories.Length; h++)
        {
            var k = encoder.Spec.Categories[h];
            loss = loss + nn.functional.cross_entropy(output[.., offset..(offset + k)], categories[.., h]);
            offset += k;
        }
        return encoder.Spec.Regressions == 0 ? loss   // the mean of an empty error would be NaN
             : loss + nn.functional.mse_loss(output[.., offset..], regressions) * encoder.Spec.Regressions;
    }

    public static EncoderCard Train(EncoderTrainingConfig config, string outDir, Action<JobProgress>? progress = null, CancellationToken cancel = default)
    {
        if (config.Iterations < 1 || config.BatchSize < 2 || !(config.LearningRate > 0) || !(config.MaxInputNoise >= 0))
            throw new InputException($"encoder training: iterations ≥ 1, batch ≥ 2, a positive learning rate and noise ≥ 0 are required (got {config})");
        var spec = EncoderSpec.ForTask(config.Task);
        ModelDirectory.RequireNoModelIn(outDir);
        if (File.Exists(Path.Combine(outDir, WeightsFile))) throw new InputException($"out: {outDir} already holds an encoder");
        Directory.CreateDirectory(outDir);
        Runtime.Configure(config.Seed, config.Threads, "cpu");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var generator = Runtime.NewGenerator(config.Seed);
        using var encoder = new FeatureEncoder(spec);
        using var optimizer = torch.optim.AdamW(encoder.parameters(), config.LearningRate);
        for (var it = 1; it <= config.Iterations; it++)
        {
            cancel.ThrowIfCancellationRequested();
            using (torch.NewDisposeScope())
            {
                var lr = config.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * (it - 1) / config.Iterations));
                foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
                var (x, cats, regs) = spec.Definition.EncoderBatch(config.BatchSize, generator);
                var level = Diffusion.ProbabilityFlow.PerSample(torch.rand(config.BatchSize, generator: generator), x) * config.MaxInputNoise;
                var noisy = x + level * torch.randn(x.shape, generator: generator);
                var loss = Loss(encoder, noisy, cats, regs);
                optimizer.zero_grad();
                Models.OneDnn.Backward(loss);
                optimizer.step();
                if (it % 50 == 0 || it == config.Iterations)
                {
                    var value = loss.item<float>();
                    if (!float.IsFinite(value)) throw new DivergenceException($"encoder training diverged at iteration {it}; lower the learning rate");
                    progress?.Invoke(new JobProgress(it, config.Iterations, $"loss {value:F3}"));
                }
            }
            Runtime.ReleaseFinalizableNativeObjects();
        }
        encoder.eval();
        var (accuracy, rmse) = Validate(encoder, 1024, config.Seed + 1_000_003);
        var card = new EncoderCard(spec, config, accuracy, rmse, clock.Elapsed.TotalSeconds);
        ModelDirectory.SaveWeights(encoder, Path.Combine(outDir, WeightsFile));
        Json.Write(Path.Combine(outDir, CardFile), card);
        return card;
    }

    /// <summary>Accuracy of every categorical head and RMSE of every regression (in the normalised units) on held-out real samples (<see cref="IEncoderTask.EncoderValidation"/>).</summary>
    public static (Dictionary<string, double> Accuracy, Dictionary<string, double> Rmse) Validate(FeatureEncoder encoder, int n, int seed)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var generator = Runtime.NewGenerator(seed);
        var (x, cats, regs) = encoder.Spec.Definition.EncoderValidation(n, generator);
        var output = torch.cat(x.split(1024).Select(chunk => encoder.Heads(encoder.forward(chunk))).ToArray());   // a test split may hold thousands
        var accuracy = new Dictionary<string, double>();
        var offset = 0;
        for (var h = 0; h < encoder.Spec.Categories.Length; h++)
        {
            var k = encoder.Spec.Categories[h];
            var predicted = output[.., offset..(offset + k)].argmax(1);
            accuracy[encoder.Spec.CategoryNames[h]] = predicted.eq(cats[.., h]).to(ScalarType.Float64).mean().item<double>();
            offset += k;
        }
        var rmse = new Dictionary<string, double>();
        for (var r = 0; r < encoder.Spec.Regressions; r++)
            rmse[encoder.Spec.RegressionNames[r]] = (output[.., offset + r] - regs[.., r]).square().mean().sqrt().to(ScalarType.Float64).item<double>();
        return (accuracy, rmse);
    }

    /// <summary>Loads an encoder directory that must be for <paramref name="task"/>; the message names <paramref name="option"/>.</summary>
    public static FeatureEncoder LoadFor(string dir, string task, string option)
    {
        var (card, encoder) = Load(dir);
        if (card.Spec.Task == task) return encoder;
        encoder.Dispose();
        throw new InputException($"{option}: {dir} is an encoder for '{card.Spec.Task}', not '{task}'");
    }

    /// <summary>Loads an encoder directory (weights verified against their SHA-256).</summary>
    public static (EncoderCard Card, FeatureEncoder Encoder) Load(string dir)
    {
        var cardPath = Path.Combine(dir, CardFile);
        if (!File.Exists(cardPath)) throw new InputException($"encoder not found: {cardPath}");
        var card = Json.Read<EncoderCard>(cardPath, "encoder card");
        var encoder = new FeatureEncoder(card.Spec);
        try
        {
            ModelDirectory.LoadWeights(encoder, Path.Combine(dir, WeightsFile));
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
        encoder.eval();
        return (card, encoder);
    }
}
