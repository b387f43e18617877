using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>
/// A data-parallel group over MPI's world communicator. Gradients are averaged in one flattened
/// buffer per model (one all-reduce per optimizer step, not one per tensor). CPU buffers are reduced
/// in place; CUDA buffers are reduced in device memory when the MPI library is CUDA-aware and staged
/// through host memory otherwise (<see cref="ReductionPath"/> says which ran).
/// </summary>
public sealed unsafe class MpiGroup : IGradientSync, IDisposable
{
    private readonly MpiLibrary _mpi;
    private readonly Stopwatch _communication = new();
    private bool _disposed;

    public int Rank { get; }
    public int WorldSize { get; }
    public MpiAbi Abi => _mpi.Abi;
    /// <summary>The MPI library this group runs on (e.g. libmpi.so.40).</summary>
    public string Library => _mpi.Name;
    /// <summary>Whether the MPI library reduces CUDA memory directly.</summary>
    public bool CudaAware { get; }
    /// <summary>How the last gradient average travelled: "in place on the CPU", "in CUDA memory (CUDA-aware MPI)" or "staged through host memory".</summary>
    public string ReductionPath { get; private set; } = "in place on the CPU";
    /// <summary>Wall seconds spent inside MPI calls so far (the communication share of a run).</summary>
    public double CommunicationSeconds => _communication.Elapsed.TotalSeconds;

    internal MpiGroup(MpiLibrary mpi)
    {
        _mpi = mpi;
        if (!mpi.IsInitialized) mpi.Init();
        Rank = mpi.Rank();
        WorldSize = mpi.Size();
        CudaAware = mpi.CudaAware;
    }

    public void AverageGradients(IReadOnlyList<Parameter> parameters)
    {
        using var scope = torch.NewDisposeScope();
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return;
        var device = grads[0].device;
        var inDevice = device.type != DeviceType.CPU && CudaAware;
        ReductionPath = device.type == DeviceType.CPU ? "in place on the CPU" : inDevice ? "in CUDA memory (CUDA-aware MPI)" : "staged through host memory";
        var flat = torch.cat(grads.Select(g => g.detach().reshape(-1).to(ScalarType.Float32)).ToList()).to(inDevice ? device : CPU).contiguous();
        Reduce(flat, MpiLibrary.Op.Sum);
        flat.div_(WorldSize);
        var back = flat.to(device);
        long offset = 0;
        foreach (var g in grads)
        {
            var n = g.numel();
            g.copy_(back.narrow(0, offset, n).view_as(g));
            offset += n;
        }
    }

    public bool AllFinite(bool localFinite) => ReduceInt(localFinite ? 1 : 0, MpiLibrary.Op.Min) == 1;

    public bool AnyTrue(bool local) => ReduceInt(local ? 1 : 0, MpiLibrary.Op.Max) == 1;

    public byte[][] AllGather(byte[] local)
    {
        var n = local.Length;
        if (ReduceInt(n, MpiLibrary.Op.Max) != n || ReduceInt(n, MpiLibrary.Op.Min) != n)
            throw new InvalidOperationException("data-parallel: the ranks' gathered buffers differ in length");
        var all = new int[WorldSize * n];
        for (var i = 0; i < n; i++) all[Rank * n + i] = local[i];
        Timed(() => { fixed (int* p = all) _mpi.AllreduceInPlace(p, all.Length, MpiLibrary.Type.Int, MpiLibrary.Op.Sum); });
        return Enumerable.Range(0, WorldSize).Select(r => all.AsSpan(r * n, n).ToArray().Select(v => (byte)v).ToArray()).ToArray();
    }

    public void Broadcast(IReadOnlyList<Tensor> tensors)
    {
        if (tensors.Count == 0) return;
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var flat = torch.cat(tensors.Select(t => t.detach().reshape(-1).to(ScalarType.Float32).cpu()).ToList()).contiguous();
        Timed(() => { fixed (byte* p = flat.bytes) _mpi.Broadcast(p, (int)flat.numel(), MpiLibrary.Type.Float, root: 0); });
        long offset = 0;
        foreach (var t in tensors)
        {
            var n = t.numel();
            t.copy_(flat.narrow(0, offset, n).view_as(t));
            offset += n;
        }
    }

    public void RequireIdentical(IReadOnlyList<Parameter> parameters, string what)
    {
        double sum = 0, squares = 0;
        using (torch.no_grad())
            foreach (var p in parameters)
            {
                using var d = p.detach().to(ScalarType.Float64);
                using var s = d.sum();
                using var q = d.square().sum();
                sum += s.item<double>();
                squares += q.item<double>();
            }
        // max of (sum, squares, −sum, −squares) gives both the maxima and the minima in one call.
        var m = new[] { sum, squares, -sum, -squares };
        Timed(() => { fixed (double* p = m) _mpi.AllreduceInPlace(p, m.Length, MpiLibrary.Type.Double, MpiLibrary.Op.Max); });
        bool Same(double max, double min) => max - min <= 1e-12 * (Math.Abs(max) + 1);
        if (!Same(m[0], -m[2]) || !Same(m[1], -m[3]))
            throw new DivergenceException($"data-parallel: {what} differs between the {WorldSize} ranks (parameter checksum from {-m[2]:R} to {m[0]:R}); the ranks no longer train one model");
    }

    /// <summary>Ends every rank of the job (the launcher reports the code). Used when one rank fails alone.</summary>
    public void Abort(int code) => _mpi.Abort(code);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_mpi.IsInitialized && !_mpi.IsFinalized) _mpi.FinalizeMpi();
    }

    private void Reduce(Tensor flat, MpiLibrary.Op op) => Timed(() =>
    {
        if (flat.device_type == DeviceType.CPU)
        {
            fixed (byte* p = flat.bytes) _mpi.AllreduceInPlace(p, (int)flat.numel(), MpiLibrary.Type.Float, op);
        }
        else _mpi.AllreduceInPlace((void*)flat.storage<float>().data_ptr(), (int)flat.numel(), MpiLibrary.Type.Float, op);
    });

    private int ReduceInt(int value, MpiLibrary.Op op)
    {
        var v = new[] { value };
        Timed(() => { fixed (int* p = v) _mpi.AllreduceInPlace(p, 1, MpiLibrary.Type.Int, op); });
        return v[0];
    }

    private void Timed(Action call)
    {
        _communication.Start();
        try { call(); }
        finally { _communication.Stop(); }
    }
}
