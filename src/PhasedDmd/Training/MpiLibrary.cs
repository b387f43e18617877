using System.Runtime.InteropServices;

namespace PhasedDmd.Training;

/// <summary>The two binary interfaces MPI libraries come in.</summary>
public enum MpiAbi
{
    /// <summary>Open MPI (<c>libmpi.so.40</c>): handles are pointers to exported globals (<c>&amp;ompi_mpi_comm_world</c>).</summary>
    OpenMpi,
    /// <summary>MPICH and its derivatives (Intel MPI, Cray MPICH, MVAPICH; <c>libmpich.so.12</c>): handles are integer constants.</summary>
    Mpich,
}

/// <summary>
/// The handful of MPI calls that data-parallel training needs (init, rank and size, all-reduce,
/// broadcast, abort, finalize), bound at run time to the MPI library of the launch. Both binary
/// interfaces are supported: the function signatures are the same C API, only the handle types and
/// the values of the predefined handles differ (integers from MPICH's <c>mpi.h</c>; addresses of
/// exported globals for Open MPI). The library is opened with RTLD_GLOBAL, as Open MPI's plugins need.
/// </summary>
internal sealed unsafe class MpiLibrary
{
    // MPICH ABI constants (mpi.h of MPICH 4.0; the same in Intel MPI, Cray MPICH and MVAPICH).
    private const int MpichCommWorld = 0x44000000;
    private const int MpichFloat = 0x4c00040a, MpichDouble = 0x4c00080b, MpichInt = 0x4c000405;
    private const int MpichMax = 0x58000001, MpichMin = 0x58000002, MpichSum = 0x58000003;

    private readonly nint _commWorld, _float, _double, _int, _max, _min, _sum, _inPlace;
    private readonly nint _init, _initialized, _finalize, _finalized, _rank, _size, _allreduce, _bcast, _abort;
    private readonly nint _cudaSupport;

    public MpiAbi Abi { get; }
    public string Name { get; }

    public enum Type { Float, Double, Int }
    public enum Op { Sum, Min, Max }

    private MpiLibrary(MpiAbi abi, string name, nint lib)
    {
        Abi = abi;
        Name = name;
        _init = Export(lib, "MPI_Init");
        _initialized = Export(lib, "MPI_Initialized");
        _finalize = Export(lib, "MPI_Finalize");
        _finalized = Export(lib, "MPI_Finalized");
        _rank = Export(lib, "MPI_Comm_rank");
        _size = Export(lib, "MPI_Comm_size");
        _allreduce = Export(lib, "MPI_Allreduce");
        _bcast = Export(lib, "MPI_Bcast");
        _abort = Export(lib, "MPI_Abort");
        NativeLibrary.TryGetExport(lib, "MPIX_Query_cuda_support", out _cudaSupport);   // Open MPI's extension; absent elsewhere
        if (abi == MpiAbi.OpenMpi)
        {
            _commWorld = Export(lib, "ompi_mpi_comm_world");
            _float = Export(lib, "ompi_mpi_float");
            _double = Export(lib, "ompi_mpi_double");
            _int = Export(lib, "ompi_mpi_int");
            _max = Export(lib, "ompi_mpi_op_max");
            _min = Export(lib, "ompi_mpi_op_min");
            _sum = Export(lib, "ompi_mpi_op_sum");
            _inPlace = 1;   // ((void *) 1)
        }
        else
        {
            (_commWorld, _float, _double, _int, _max, _min, _sum) = (MpichCommWorld, MpichFloat, MpichDouble, MpichInt, MpichMax, MpichMin, MpichSum);
            _inPlace = -1;   // ((void *) -1)
        }
    }

    /// <summary>The library names tried for each interface, most specific first.</summary>
    public static IReadOnlyList<string> Candidates(MpiAbi abi) => abi == MpiAbi.OpenMpi
        ? ["libmpi.so.40", "libmpi.so"]
        : ["libmpich.so.12", "libmpi.so.12", "libmpich.so"];

    /// <summary>Opens the MPI library (<paramref name="path"/>, or the first candidate of <paramref name="abi"/> that loads).</summary>
    public static MpiLibrary Open(MpiAbi abi, string? path)
    {
        var tried = new List<string>();
        foreach (var name in path is null ? Candidates(abi) : [path])
        {
            var lib = DlOpenGlobal(name);
            if (lib != 0) return new MpiLibrary(abi, name, lib);
            tried.Add(name);
        }
        throw new InputException($"MPI: no {abi} library could be loaded (tried {string.Join(", ", tried)}); install the MPI of the launcher, or name it with PHASEDDMD_MPI_LIBRARY");
    }

    public bool IsInitialized
    {
        get { int flag; Check(((delegate* unmanaged<int*, int>)_initialized)(&flag), "MPI_Initialized"); return flag != 0; }
    }

    public bool IsFinalized
    {
        get { int flag; Check(((delegate* unmanaged<int*, int>)_finalized)(&flag), "MPI_Finalized"); return flag != 0; }
    }

    public void Init() => Check(((delegate* unmanaged<int*, byte***, int>)_init)(null, null), "MPI_Init");

    public void FinalizeMpi() => Check(((delegate* unmanaged<int>)_finalize)(), "MPI_Finalize");

    public int Rank() => Query(_rank, "MPI_Comm_rank");

    public int Size() => Query(_size, "MPI_Comm_size");

    /// <summary>Whether the library can reduce GPU memory directly (Open MPI built with CUDA); false when it cannot say.</summary>
    public bool CudaAware => _cudaSupport != 0 && ((delegate* unmanaged<int>)_cudaSupport)() == 1;

    /// <summary>Reduces <paramref name="count"/> elements at <paramref name="buffer"/> over every rank, in place.</summary>
    public void AllreduceInPlace(void* buffer, int count, Type type, Op op)
    {
        var code = Abi == MpiAbi.OpenMpi
            ? ((delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)_allreduce)((void*)_inPlace, buffer, count, TypeHandle(type), OpHandle(op), _commWorld)
            : ((delegate* unmanaged<void*, void*, int, int, int, int, int>)_allreduce)((void*)_inPlace, buffer, count, (int)TypeHandle(type), (int)OpHandle(op), (int)_commWorld);
        Check(code, "MPI_Allreduce");
    }

    /// <summary>Sends <paramref name="count"/> elements at <paramref name="buffer"/> from rank <paramref name="root"/> to every rank.</summary>
    public void Broadcast(void* buffer, int count, Type type, int root)
    {
        var code = Abi == MpiAbi.OpenMpi
            ? ((delegate* unmanaged<void*, int, nint, int, nint, int>)_bcast)(buffer, count, TypeHandle(type), root, _commWorld)
            : ((delegate* unmanaged<void*, int, int, int, int, int>)_bcast)(buffer, count, (int)TypeHandle(type), root, (int)_commWorld);
        Check(code, "MPI_Bcast");
    }

    /// <summary>Ends every rank of the job with <paramref name="code"/> (the launcher reports it).</summary>
    public void Abort(int code)
    {
        if (Abi == MpiAbi.OpenMpi) ((delegate* unmanaged<nint, int, int>)_abort)(_commWorld, code);
        else ((delegate* unmanaged<int, int, int>)_abort)((int)_commWorld, code);
    }

    private int Query(nint function, string name)
    {
        int value;
        var code = Abi == MpiAbi.OpenMpi
            ? ((delegate* unmanaged<nint, int*, int>)function)(_commWorld, &value)
            : ((delegate* unmanaged<int, int*, int>)function)((int)_commWorld, &value);
        Check(code, name);
        return value;
    }

    private nint TypeHandle(Type type) => type switch { Type.Float => _float, Type.Double => _double, _ => _int };

    private nint OpHandle(Op op) => op switch { Op.Sum => _sum, Op.Min => _min, _ => _max };

    private static void Check(int code, string call)
    {
        if (code != 0) throw new InvalidOperationException($"MPI: {call} failed with error code {code}");
    }

    private static nint Export(nint lib, string symbol)
        => NativeLibrary.TryGetExport(lib, symbol, out var address) ? address
            : throw new InputException($"MPI: the library has no {symbol}: it is not an MPI library of the expected kind");

    private const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern nint DlOpenLibc(string file, int mode);

    [DllImport("libdl.so.2", EntryPoint = "dlopen")]
    private static extern nint DlOpenLibdl(string file, int mode);

    /// <summary>dlopen with RTLD_GLOBAL (glibc ≥ 2.34 has it in libc, older ones in libdl); 0 when the library does not load.</summary>
    private static nint DlOpenGlobal(string name)
    {
        try { return DlOpenLibc(name, RtldNow | RtldGlobal); }
        catch (EntryPointNotFoundException) { return DlOpenLibdl(name, RtldNow | RtldGlobal); }
        catch (DllNotFoundException) { return DlOpenLibdl(name, RtldNow | RtldGlobal); }
    }
}
