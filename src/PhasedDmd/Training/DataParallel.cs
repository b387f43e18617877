namespace PhasedDmd.Training;

/// <summary>
/// How a process learns that it is one rank of a data-parallel job: the launcher (Open MPI's
/// <c>mpirun</c>, MPICH's <c>mpiexec</c>, Intel MPI, <c>srun</c> with PMI) describes the job in the
/// environment, and <see cref="Join"/> opens the matching MPI library. A process started without
/// a launcher never loads MPI, so MPI need not be installed to run one process.
/// </summary>
public static class DataParallel
{
    /// <summary>A launch read off the environment: this process's rank, the job's size, and the interface of its MPI.</summary>
    public sealed record Launch(int Rank, int Size, MpiAbi Abi, string Launcher);

    /// <summary>Overrides the MPI library to open (a file name or path).</summary>
    public const string LibraryVariable = "PHASEDDMD_MPI_LIBRARY";
    /// <summary>Overrides the MPI interface (<c>openmpi</c> or <c>mpich</c>).</summary>
    public const string AbiVariable = "PHASEDDMD_MPI_ABI";

    /// <summary>How often (in updates) the training loops compare parameter checksums across ranks.</summary>
    public const int ChecksumEvery = 100;

    /// <summary>The group of the running job, once joined (null in a plain process).</summary>
    public static MpiGroup? Current { get; private set; }

    /// <summary>The launch described by <paramref name="env"/>; null when no launcher started this process.</summary>
    public static Launch? Detect(Func<string, string?> env)
    {
        Launch? launch = null;
        if (int.TryParse(env("OMPI_COMM_WORLD_SIZE"), out var size))
            launch = new Launch(int.TryParse(env("OMPI_COMM_WORLD_RANK"), out var r) ? r : 0, size, MpiAbi.OpenMpi, "Open MPI's mpirun");
        else if (int.TryParse(env("PMI_SIZE"), out size))
            launch = new Launch(int.TryParse(env("PMI_RANK"), out var r) ? r : 0, size, MpiAbi.Mpich, "a PMI launcher (MPICH's mpiexec, Intel MPI, srun)");
        if (launch is null) return null;
        return env(AbiVariable)?.ToLowerInvariant() switch
        {
            null or "" => launch,
            "openmpi" => launch with { Abi = MpiAbi.OpenMpi },
            "mpich" => launch with { Abi = MpiAbi.Mpich },
            var other => throw new InputException($"{AbiVariable}: expected openmpi or mpich (got '{other}')"),
        };
    }

    /// <summary>The environment variables launchers give a rank's index on its node, in the order they are read.</summary>
    public static readonly string[] LocalRankVariables =
    [
        "OMPI_COMM_WORLD_LOCAL_RANK",   // Open MPI's mpirun
        "MPI_LOCALRANKID",              // MPICH's Hydra (mpiexec), Intel MPI
        "SLURM_LOCALID",                // srun
        "LOCAL_RANK",                   // torchrun and launchers that follow it
    ];

    /// <summary>This rank's index on its node as the launcher gives it (<see cref="LocalRankVariables"/>); null when no launcher set one.</summary>
    public static int? LocalRank(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        foreach (var name in LocalRankVariables)
            if (int.TryParse(env(name), out var r) && r >= 0) return r;
        return null;
    }

    /// <summary>
    /// The device this process should use for <paramref name="device"/>: <c>cuda</c> without an index becomes
    /// <c>cuda:LOCAL_RANK</c> when a launcher gave the process a local rank (one GPU per rank, as every launcher
    /// places them); an explicit <c>cuda:N</c> overrides that, and <c>cpu</c> stays <c>cpu</c>.
    /// </summary>
    public static string DeviceFor(string device, Func<string, string?>? env = null)
        => device == "cuda" && LocalRank(env) is { } local ? $"cuda:{local}" : device;

    /// <summary>
    /// Joins the job this process was launched in: <see cref="SingleProcess"/> without a launcher or
    /// with one rank; otherwise an <see cref="MpiGroup"/> over the launch's MPI library. A library
    /// that does not see the launcher's ranks (a launcher of another MPI, which would start that
    /// many independent single-rank runs) is refused.
    /// </summary>
    public static IGradientSync Join(Func<string, string?>? env = null)
    {
        env ??= Environment.GetEnvironmentVariable;
        var launch = Detect(env);
        if (launch is null || launch.Size <= 1) return SingleProcess.Instance;
        if (Current is not null) return Current;
        var library = MpiLibrary.Open(launch.Abi, env(LibraryVariable) is { Length: > 0 } path ? path : null);
        var group = new MpiGroup(library);
        if (group.WorldSize != launch.Size)
        {
            group.Dispose();
            throw new InputException($"data-parallel: {launch.Launcher} started {launch.Size} ranks but {library.Name} sees {group.WorldSize}: " +
                                     $"the launcher belongs to another MPI (each rank would train alone); launch with the mpiexec of that library's MPI, or set {LibraryVariable}");
        }
        Current = group;
        return group;
    }

    /// <summary>Leaves the job (MPI_Finalize), if one was joined.</summary>
    public static void Leave()
    {
        Current?.Dispose();
        Current = null;
    }

    /// <summary>
    /// When a rank fails on its own (an error the others do not share), the others would wait for it
    /// forever: end the whole job with <paramref name="code"/> instead. Nothing when no job was joined.
    /// </summary>
    public static void AbortJob(int code)
    {
        if (Current is { WorldSize: > 1 } group) group.Abort(code);
    }

    /// <summary>One line for rank 0 to print at the start of a data-parallel run; null for one process.</summary>
    public static string? Describe(IGradientSync sync) => sync is MpiGroup g && g.WorldSize > 1
        ? $"data-parallel over {g.WorldSize} ranks ({(g.Abi == MpiAbi.OpenMpi ? "Open MPI" : "MPICH ABI")}, {g.Library}; CUDA-aware: {(g.CudaAware ? "yes" : "no")})"
        : null;
}
