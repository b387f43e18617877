using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using PhasedDmd.IO;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>Where a run is: saved in every checkpoint as progress.json.</summary>
public sealed record RunProgress(int Phase, int Iteration, long Done, string ConfigHash, double Seconds, long SkippedUpdates);

/// <summary>A run that stopped itself because its losses or gradients stayed non-finite.</summary>
public sealed class DivergenceException(string message) : Exception(message);

/// <summary>Helpers shared by the resumable trainers: hashing configs, RNG and optimizer state files.</summary>
public static class RunState
{
    public const string ProgressFile = "progress.json";
    public const string RngFile = "rng.safetensors";

    public static string Hash<T>(T config)
        => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Json.Serialize(config)))).ToLowerInvariant()[..16];

    /// <summary>The top-level keys whose values differ between two configs (for a refused resume).</summary>
    public static IReadOnlyList<string> DifferingKeys<T>(T saved, T requested)
    {
        var a = JsonNode.Parse(Json.Serialize(saved))!.AsObject();
        var b = JsonNode.Parse(Json.Serialize(requested))!.AsObject();
        return a.Select(kv => kv.Key).Union(b.Select(kv => kv.Key))
            .Where(k => !JsonNode.DeepEquals(a[k], b[k])).ToList();
    }

    /// <summary>Refuses to resume when the requested config differs from the saved one, naming the keys.</summary>
    public static void RequireSameConfig<T>(T saved, T requested, string dir)
    {
        var keys = DifferingKeys(saved, requested);
        if (keys.Count > 0)
            throw new InputException($"resume: the config differs from the one saved in {dir} in: {string.Join(", ", keys)}");
    }

    public static void SaveRng(string dir, Generator rng)
        => Safetensors.SaveStateDict(Path.Combine(dir, RngFile), new Dictionary<string, Tensor> { ["cpu"] = rng.get_state() });

    public static void LoadRng(string dir, Generator rng)
    {
        var state = Safetensors.LoadStateDict(Path.Combine(dir, RngFile));
        rng.set_state(state["cpu"]);
    }

    public static void SaveModule(nn.Module module, string path) => module.save_safetensors(path);

    public static void LoadModule(nn.Module module, string path) => module.load_safetensors(path, strict: true);

    public static void SaveOptimizer(OptimizerHelper optimizer, string path) => optimizer.save_state_dict(path);

    public static void LoadOptimizer(OptimizerHelper optimizer, string path) => optimizer.load_state_dict(path);

    public static void WriteProgress(string dir, RunProgress progress) => File.WriteAllText(Path.Combine(dir, ProgressFile), Json.Serialize(progress));

    public static RunProgress ReadProgress(string dir) => Json.Read<RunProgress>(Path.Combine(dir, ProgressFile), "checkpoint progress");

    /// <summary>Finds the newest intact checkpoint of a run directory, or explains why there is none.</summary>
    public static (CheckpointStore Store, string Path, RunProgress Progress) LatestCheckpoint(string runDir, Action<string>? warn)
    {
        var store = new CheckpointStore(Path.Combine(runDir, "checkpoints"));
        var latest = store.LatestValid(warn)
                     ?? throw new InputException($"resume: no intact checkpoint in {Path.Combine(runDir, "checkpoints")}");
        return (store, latest.Path, ReadProgress(latest.Path));
    }

    /// <summary>Non-finite check of a set of gradients with one host synchronisation.</summary>
    public static double GradientNorm(IEnumerable<Parameter> parameters)
    {
        using var scope = torch.NewDisposeScope();
        var norms = parameters.Where(p => p.grad is not null).Select(p => p.grad!.norm()).ToList();
        return norms.Count == 0 ? 0.0 : torch.stack(norms).norm().to(ScalarType.Float64).item<double>();
    }
}
