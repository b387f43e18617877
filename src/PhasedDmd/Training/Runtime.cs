using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>Device, threads and seeding of a run, applied in one place.</summary>
public static class Runtime
{
    /// <summary>Seeds libtorch, sets the thread count (0 = keep) and resolves the device.</summary>
    public static Device Configure(int seed, int threads, string device)
    {
        if (threads > 0) torch.set_num_threads(threads);
        torch.manual_seed(seed);
        return ResolveDevice(device);
    }

    /// <summary>
    /// The device by name; CUDA on a machine or libtorch build without it is an input error, not a crash. Under a
    /// launcher, <c>cuda</c> is this rank's own GPU (<see cref="DataParallel.DeviceFor"/>).
    /// </summary>
    public static Device ResolveDevice(string device)
    {
        device = DataParallel.DeviceFor(device);
        if (device != "cpu" && !device.StartsWith("cuda", StringComparison.Ordinal))
            throw new InputException($"device: expected cpu or cuda[:N] (got '{device}')");
        if (device.StartsWith("cuda", StringComparison.Ordinal) && !torch.cuda.is_available())
            throw new InputException($"device: '{device}' requested but CUDA is not available in this libtorch build (the default package is CPU-only; use --device cpu)");
        return torch.device(device);
    }

    /// <summary>
    /// Call once per training iteration. TorchSharp leaves some
    /// small native objects to the finaliser (handles it creates inside its own calls, such as the
    /// optimizers' in-place updates, where no dispose scope of ours can reach them). Few bytes each,
    /// but scattered between freed tensor blocks they keep glibc's allocator from reusing or
    /// returning those blocks, and on a machine with a large L3 cache .NET's first gen-0 collection
    /// comes only after hundreds of iterations. Measured with `bench-worker --part growth`: a
    /// 2-phase MLP run grew from 157 to about 960 MiB resident before levelling off. With a gen-0
    /// collection per iteration it stays at about 200 MiB, and the time per update does not change
    /// measurably (the managed heap is tiny; a 200-iteration glyphs teacher run took 30.2 s against
    /// 29.4 s without it). Collecting only every 4th or 10th iteration let the DiT's peak climb from
    /// 547 to 616 and 752 MiB.
    /// </summary>
    public static void ReleaseFinalizableNativeObjects() => GC.Collect(0, GCCollectionMode.Forced, blocking: true);

    /// <summary>
    /// Gives the heap memory that is free back to the operating system (glibc's <c>malloc_trim</c>; elsewhere nothing).
    /// Building a LoRA expert or fake score of an imported model loads a full copy of the script and then points its
    /// base at the teacher's tensors: the copy is freed, but glibc keeps blocks freed below its (adaptive, up to 32 MiB)
    /// mmap threshold in the heap, so without this the process stays as large as if every copy were alive.
    /// </summary>
    public static void ReturnFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }   // not glibc (e.g. musl)
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>A CPU generator for reproducible data and noise draws, independent of libtorch's global one.</summary>
    public static Generator NewGenerator(long seed) => new((ulong)seed);

    /// <summary>
    /// The random stream of process <paramref name="rank"/> in a data-parallel run of seed
    /// <paramref name="seed"/>: rank 0 draws from the seed itself (so one process is exactly the
    /// single-process run), every other rank from a SplitMix64 mix of (seed, rank), independent of it.
    /// </summary>
    public static Generator RankGenerator(long seed, int rank) => NewGenerator(rank == 0 ? seed : RankSeed(seed, rank));

    /// <summary>SplitMix64 of seed and rank (a bijective 64-bit mix): distinct ranks give unrelated streams.</summary>
    public static long RankSeed(long seed, int rank)
    {
        var z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * (ulong)(rank + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (long)((z ^ (z >> 31)) & 0x7FFF_FFFF_FFFF_FFFFUL);
    }
}
