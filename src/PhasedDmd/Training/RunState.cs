using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using PhasedDmd.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>Helpers of the resume protocol (<see cref="RunDirectory"/>): config hashes and comparison, progress files, the gradient norm guard.</summary>
public static class RunState
{
    public const string ProgressFile = "progress.json";

    public static string Hash<T>(T config) => HashOfText(Json.Serialize(config));

    /// <summary>The hash of a config's JSON as written (<see cref="Hash"/> of the config that serialised to it).</summary>
    public static string HashOfText(string json)
        => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(json))).ToLowerInvariant()[..16];

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

    public static void WriteProgress(string dir, RunProgress progress) => File.WriteAllText(Path.Combine(dir, ProgressFile), Json.Serialize(progress));

    public static RunProgress ReadProgress(string dir) => Json.Read<RunProgress>(Path.Combine(dir, ProgressFile), "checkpoint progress");

    /// <summary>Non-finite check of a set of gradients with one host synchronisation.</summary>
    public static Tensor GradientNorm(IEnumerable<Parameter> parameters)
    {
        var norms = parameters.Where(p => p.grad is not null).Select(p => p.grad!.norm()).ToList();
        return norms.Count == 0 ? torch.zeros(1).squeeze() : torch.stack(norms).norm();
    }
}
