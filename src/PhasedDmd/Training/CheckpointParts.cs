using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>
/// The named pieces of a training state that one checkpoint holds (modules, optimizers, EMA
/// averages, random streams). Each piece's file name is written once, here, and the same list
/// both saves and loads it, so saving and resuming cannot drift apart.
/// </summary>
public sealed class CheckpointParts
{
    private readonly List<(string File, Action<string> Save, Action<string> Load)> _parts = [];
    private readonly List<Action> _collect = [];

    /// <summary>A module's parameters and buffers, as <c>NAME.safetensors</c> (loaded strictly).</summary>
    public CheckpointParts Module(string name, nn.Module module)
        => Add($"{name}.safetensors", path => module.save_safetensors(path), path => module.load_safetensors(path, strict: true));

    /// <summary>
    /// Some tensors of a module by name, as <c>NAME.safetensors</c>, loaded strictly (the same names) into the tensors in place:
    /// the adapters of LoRA experts and fake scores, whose base is the teacher's and is not written again.
    /// </summary>
    public CheckpointParts Tensors(string name, IReadOnlyList<(string Name, Tensor Tensor)> tensors)
        => Add($"{name}.safetensors",
            path => Safetensors.SaveStateDict(path, tensors.ToDictionary(t => t.Name, t => t.Tensor.detach())),
            path =>
            {
                var saved = Safetensors.LoadStateDict(path);
                try
                {
                    if (saved.Count != tensors.Count || tensors.Any(t => !saved.ContainsKey(t.Name)))
                        throw new InputException($"checkpoint {Path.GetFileName(path)} holds other tensors than this run's ({saved.Count} saved, {tensors.Count} expected)");
                    using var _ = no_grad();
                    foreach (var (n, t) in tensors) t.copy_(saved[n]);
                }
                finally
                {
                    foreach (var t in saved.Values) t.Dispose();
                }
            });

    /// <summary>An optimizer's state (moments, step counts), as <c>NAME.bin</c>.</summary>
    public CheckpointParts Optimizer(string name, OptimizerHelper optimizer)
        => Add($"{name}.bin", optimizer.save_state_dict, path => optimizer.load_state_dict(path));

    /// <summary>An EMA average with its update count, as <c>NAME.safetensors</c>; nothing when there is no EMA.</summary>
    public CheckpointParts Ema(string name, Ema? ema)
        => ema is null ? this : Add($"{name}.safetensors", ema.Save, ema.Load);

    /// <summary>
    /// A random generator's state, as <c>NAME.safetensors</c>. In a data-parallel run every rank has its
    /// own stream: rank 0 writes them all (rank r's as <c>NAME-rankR.safetensors</c>, gathered by
    /// <see cref="Collect"/>), and each rank loads its own.
    /// </summary>
    public CheckpointParts Rng(string name, Generator rng, IGradientSync? sync = null)
    {
        sync ??= SingleProcess.Instance;
        string File(int rank) => rank == 0 ? $"{name}.safetensors" : $"{name}-rank{rank}.safetensors";
        static void Write(string path, Tensor state) => Safetensors.SaveStateDict(path, new Dictionary<string, Tensor> { ["cpu"] = state });
        byte[][] peers = [];   // every rank's state, gathered before a data-parallel checkpoint
        if (sync.WorldSize > 1)
            _collect.Add(() =>
            {
                using var state = rng.get_state();
                peers = sync.AllGather(state.bytes.ToArray());
            });
        return Add(File(sync.Rank),
            path =>
            {
                using (var own = rng.get_state()) Write(path, own);
                for (var r = 1; r < peers.Length; r++)
                {
                    using var state = tensor(peers[r], dtype: ScalarType.Byte);
                    Write(Path.Combine(Path.GetDirectoryName(path)!, File(r)), state);
                }
            },
            path =>
            {
                var state = Safetensors.LoadStateDict(path);
                rng.set_state(state["cpu"]);
                foreach (var t in state.Values) t.Dispose();
            });
    }

    /// <summary>Every piece of <paramref name="other"/> too (e.g. a phase's state beside the student's).</summary>
    public CheckpointParts With(CheckpointParts other)
    {
        _parts.AddRange(other._parts);
        _collect.AddRange(other._collect);
        return this;
    }

    /// <summary>Gathers what other ranks hold (their random streams) to the writer; every rank calls it before a checkpoint.</summary>
    public void Collect()
    {
        foreach (var c in _collect) c();
    }

    /// <summary>Writes every piece into <paramref name="dir"/> (after <see cref="Collect"/>).</summary>
    public void SaveTo(string dir)
    {
        foreach (var (file, save, _) in _parts) save(Path.Combine(dir, file));
    }

    public void LoadFrom(string dir)
    {
        foreach (var (file, _, load) in _parts)
        {
            var path = Path.Combine(dir, file);
            if (!File.Exists(path)) throw new InputException($"resume: checkpoint {dir} has no {file}");
            load(path);
        }
    }

    private CheckpointParts Add(string file, Action<string> save, Action<string> load)
    {
        if (_parts.Any(p => p.File == file)) throw new InvalidOperationException($"checkpoint part {file} is listed twice");
        _parts.Add((file, save, load));
        return this;
    }
}
