using PhasedDmd.Models;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PhasedDmd.IO;

/// <summary>
/// A model directory: <c>model.json</c> (the card), <c>model.safetensors</c> (weights),
/// plus, for trained models, <c>train_log.csv</c>, TensorBoard events under <c>tb/</c> and
/// <c>run_config.json</c> (the effective config, replayable with --config).
/// </summary>
public static class ModelDirectory
{
    public const string CardFile = "model.json";
    public const string WeightsFile = "model.safetensors";
    public const string RunConfigFile = "run_config.json";
    public const string LogFile = "train_log.csv";

    /// <summary>
    /// Writes the weights atomically, then their SHA-256 beside them (<c>model.safetensors.sha256</c>, sha256sum format).
    /// The old hash is removed first, so a crash between the two writes leaves unverified weights, never a stale hash.
    /// </summary>
    /// <remarks>A network held in bfloat16 for training (<c>precision: bf16</c>) is written in float32, as it is built when loaded (exactly: every bfloat16 value is a float32).</remarks>
    public static void SaveWeights(nn.Module module, string path)
    {
        File.Delete(path + ".sha256");
        AtomicFile.Write(path, temp =>
        {
            var state = module.state_dict();
            if (!state.Values.Any(t => t.dtype == ScalarType.BFloat16)) module.save_safetensors(temp);
            else
            {
                using var scope = NewDisposeScope();
                TorchSharp.PyBridge.Safetensors.SaveStateDict(temp, state.ToDictionary(kv => kv.Key, kv => kv.Value.dtype == ScalarType.BFloat16 ? kv.Value.detach().to(ScalarType.Float32) : kv.Value.detach()));
            }
        });
        AtomicFile.WriteAllText(path + ".sha256", $"{Sha256(path)}  {Path.GetFileName(path)}\n");
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream)).ToLowerInvariant();
    }

    /// <summary>
    /// Loads weights strictly: a missing, extra or mis-shaped tensor is an <see cref="InputException"/>,
    /// and so are weights whose SHA-256 differs from the recorded one (a flipped bit loads silently otherwise).
    /// </summary>
    public static void LoadWeights(nn.Module module, string path)
    {
        if (!File.Exists(path)) throw new InputException($"weights not found: {path}");
        var recorded = path + ".sha256";
        if (File.Exists(recorded))
        {
            var expected = File.ReadAllText(recorded).Split(' ', 2)[0].Trim();
            if (!string.Equals(expected, Sha256(path), StringComparison.OrdinalIgnoreCase))
                throw new InputException($"corrupt weights in {path}: the SHA-256 differs from {Path.GetFileName(recorded)} (the file was altered or damaged)");
        }
        try
        {
            module.load_safetensors(path, strict: true);
        }
        catch (Exception e) when (e is not InputException)
        {
            throw new InputException($"incompatible or corrupt weights in {path}: {FirstLine(e.Message)}");
        }
    }

    public static void Save(string dir, ModelCard card, VelocityModel model)
    {
        Directory.CreateDirectory(dir);
        CopyScript(card.Network, dir);
        SaveWeights(model, Path.Combine(dir, WeightsFile));
        Json.Write(Path.Combine(dir, CardFile), card);
    }

    /// <summary>
    /// A fresh run must not write into a directory that already holds a model (a teacher, a
    /// finished student): that would replace its card, config and log. Resume continues in place instead.
    /// </summary>
    public static void RequireNoModelIn(string dir, string option = "out")
    {
        if (File.Exists(Path.Combine(dir, CardFile)))
            throw new InputException($"{option}: {dir} already holds a model ({CardFile}); choose a new directory, delete it, or resume the interrupted run in place");
    }

    /// <summary>A network's own files (an imported script, its conditions and their names) travel with every model directory built on it (teacher and students).</summary>
    public static void CopyScript(ModelSpec network, string dir)
    {
        foreach (var file in network.Files)
        {
            var source = network.PathOf(file);
            var target = Path.Combine(dir, file);
            if (Path.GetFullPath(source) == Path.GetFullPath(target)) continue;
            AtomicFile.Write(target, temp => File.Copy(source, temp, overwrite: true));
        }
    }

    public static ModelCard ReadCard(string dir)
    {
        if (!Directory.Exists(dir)) throw new InputException($"model directory not found: {dir}");
        var card = Json.Read<ModelCard>(Path.Combine(dir, CardFile), "model card");
        if (card.Format != "phased-dmd-model")
            throw new InputException($"{Path.Combine(dir, CardFile)}: not a PhasedDmd model card (format '{card.Format}')");
        if (card.Task is null || card.Network is null)
            throw new InputException($"{Path.Combine(dir, CardFile)}: 'task' and 'network' are required");
        return card.Network.Files.Count > 0 ? card with { Network = card.Network with { Directory = Path.GetFullPath(dir) } } : card;
    }

    /// <summary>The card of the teacher at <paramref name="dir"/>, read without its weights; a student is refused (the message names <paramref name="option"/>).</summary>
    public static ModelCard ReadTeacherCard(string dir, string option = "teacher")
    {
        var card = ReadCard(dir);
        if (card.Student is not null) throw new InputException($"{option}: {dir} is a student, not a teacher");
        return card;
    }

    /// <summary>Loads a single-network model (a teacher) with its card.</summary>
    public static (ModelCard Card, VelocityModel Model) Load(string dir, torch.Device? device = null)
    {
        var card = ReadCard(dir);
        var model = card.Network.Build();
        LoadWeights(model, Path.Combine(dir, WeightsFile));
        if (device is not null) model.to(device);
        model.eval();
        return (card, model);
    }

    public static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
}
