using System.Diagnostics;
using PhasedDmd.IO;

namespace PhasedDmd.Training;

/// <summary>
/// The on-disk protocol of a resumable training run, shared by teacher training and distillation.
/// A run directory holds <c>run_config.json</c> (the effective config), <c>train_log.csv</c> and
/// TensorBoard events, atomic checkpoints under <c>checkpoints/</c> (each with <c>progress.json</c>),
/// and, once finished, the model and <c>resources.json</c>.
/// <list type="bullet">
/// <item>A fresh run refuses a directory that already holds a model, writes its config and starts a new log.</item>
/// <item>A resumed run refuses a config that differs from the saved one (naming the keys), loads the
/// newest intact checkpoint and drops the log rows written after it.</item>
/// <item>Only the writing process (rank 0) touches the disk; the others read the same checkpoint.</item>
/// </list>
/// </summary>
public sealed class RunDirectory : IDisposable
{
    public const string CheckpointsFolder = "checkpoints";
    public const string ResourcesFile = "resources.json";

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly double _earlierSeconds;

    public string Dir { get; }
    public string ConfigHash { get; }
    public CheckpointStore Checkpoints { get; }
    /// <summary>Whether this process writes (rank 0).</summary>
    public bool IsWriter { get; }
    /// <summary>The checkpoint a resumed run continues from; null for a fresh run.</summary>
    public string? ResumedFrom { get; }
    /// <summary>Where the run starts: the resumed checkpoint's progress, or the beginning.</summary>
    public RunProgress Start { get; }
    /// <summary>The run's log (rank 0 only); flushed before every checkpoint.</summary>
    public TrainingLog? Log { get; }

    /// <summary>Wall seconds of the run so far, counting the time before an interruption.</summary>
    public double Seconds => _earlierSeconds + _clock.Elapsed.TotalSeconds;

    /// <summary>How many ranks train this run (each checkpoint records it; resuming needs the same number).</summary>
    public int WorldSize { get; }

    private RunDirectory(string dir, string hash, bool isWriter, string? resumedFrom, RunProgress start, int worldSize)
    {
        WorldSize = worldSize;
        Dir = dir;
        ConfigHash = hash;
        IsWriter = isWriter;
        ResumedFrom = resumedFrom;
        Start = start;
        _earlierSeconds = start.Seconds;
        Checkpoints = new CheckpointStore(Path.Combine(dir, CheckpointsFolder));
        if (isWriter) Log = new TrainingLog(dir, append: resumedFrom is not null);
    }

    /// <summary>Opens <paramref name="dir"/> for a fresh run of <paramref name="config"/>, or to resume it.</summary>
    /// <param name="firstPhase">The phase a fresh run starts in.</param>
    /// <param name="worldSize">The number of data-parallel ranks; a checkpoint written by another number is refused.</param>
    public static RunDirectory Open<TConfig>(string dir, TConfig config, bool resume, bool isWriter = true, int firstPhase = 1, Action<string>? warn = null,
                                             int worldSize = 1)
    {
        var hash = RunState.Hash(config);
        var logPath = Path.Combine(dir, ModelDirectory.LogFile);
        if (!resume)
        {
            ModelDirectory.RequireNoModelIn(dir);
            if (isWriter)
            {
                Directory.CreateDirectory(dir);
                Json.Write(Path.Combine(dir, ModelDirectory.RunConfigFile), config);
                if (File.Exists(logPath)) File.Delete(logPath);
            }
            return new RunDirectory(dir, hash, isWriter, null, new RunProgress(firstPhase, 0, 0, hash, 0, 0, worldSize), worldSize);
        }
        var savedPath = Path.Combine(dir, ModelDirectory.RunConfigFile);
        RunState.RequireSameConfig(Json.Read<TConfig>(savedPath, "saved config"), config, dir);
        var latest = new CheckpointStore(Path.Combine(dir, CheckpointsFolder)).LatestValid(warn)
                     ?? throw new InputException($"resume: no intact checkpoint in {Path.Combine(dir, CheckpointsFolder)}");
        var progress = RunState.ReadProgress(latest.Path);
        // A checkpoint carries the hash of the config as it was written: a run started by a version without some key (read back
        // with its default, which the line above found equal to the request) hashes its saved text, not today's serialisation.
        if (progress.ConfigHash != hash && progress.ConfigHash != RunState.HashOfText(File.ReadAllText(savedPath)))
            throw new InputException($"resume: checkpoint {latest.Path} was written by a different config");
        var savedRanks = Math.Max(1, progress.WorldSize);
        if (savedRanks != worldSize)
            throw new InputException($"resume: checkpoint {latest.Path} was written by {Ranks(savedRanks)} and this run has {Ranks(worldSize)}; " +
                                     $"resume with {Ranks(savedRanks)} (every rank's random stream is in the checkpoint, so only the same number continues exactly)");
        if (isWriter) TrainingLog.TruncateAfter(logPath, progress.Done);
        return new RunDirectory(dir, hash, isWriter, latest.Path, progress, worldSize);
    }

    private static string Ranks(int n) => n == 1 ? "1 rank" : $"{n} ranks";

    /// <summary>
    /// Writes a checkpoint of <paramref name="parts"/> with the run's progress. Every rank calls it (the
    /// parts gather the other ranks' random streams); rank 0 writes. The log is flushed first, so a
    /// crash never leaves a checkpoint ahead of its log.
    /// </summary>
    public void Checkpoint(int phase, int iteration, long done, long skipped, CheckpointParts parts)
    {
        parts.Collect();
        if (!IsWriter) return;
        Log!.Flush();
        var progress = new RunProgress(phase, iteration, done, ConfigHash, Seconds, skipped, WorldSize);
        Checkpoints.Save(done, d =>
        {
            parts.SaveTo(d);
            RunState.WriteProgress(d, progress);
        });
    }

    /// <summary>Ends the run: flushes the log and writes <c>resources.json</c> (what the run cost).</summary>
    public RunResources Finish(long updates, int threads)
    {
        var seconds = Seconds;
        var resources = new RunResources(seconds, updates, seconds / Math.Max(1, updates),
            ProcessResources.PeakRssBytes() / (1024.0 * 1024.0), threads);
        if (!IsWriter) return resources;
        Log!.Flush();
        Json.Write(Path.Combine(Dir, ResourcesFile), resources);
        return resources;
    }

    /// <summary>
    /// The resources of a finished run in <paramref name="dir"/> made with exactly <paramref name="config"/>
    /// (so a restartable experiment reuses it); null when there is none. A finished run with another config
    /// is an error: reusing it would report the wrong run.
    /// </summary>
    public static RunResources? Finished<TConfig>(string dir, TConfig config)
    {
        var resources = Path.Combine(dir, ResourcesFile);
        if (!File.Exists(Path.Combine(dir, ModelDirectory.CardFile)) || !File.Exists(resources)) return null;
        if (!SameConfig(dir, config)) throw new InputException($"{dir} holds a model trained with a different config; use a new output directory");
        return Json.Read<RunResources>(resources, "run resources");
    }

    /// <summary>Whether <paramref name="dir"/> holds a run (finished or not) of exactly this config.</summary>
    public static bool SameConfig<TConfig>(string dir, TConfig config)
    {
        var saved = Path.Combine(dir, ModelDirectory.RunConfigFile);
        return File.Exists(saved) && RunState.Hash(Json.Read<TConfig>(saved, "saved config")) == RunState.Hash(config);
    }

    /// <summary>Whether <paramref name="dir"/> has a checkpoint to resume from.</summary>
    public static bool HasCheckpoint(string dir) => new CheckpointStore(Path.Combine(dir, CheckpointsFolder)).List().Count > 0;

    public void Dispose() => Log?.Dispose();
}
