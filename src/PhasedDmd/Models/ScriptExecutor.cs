using System.Runtime.InteropServices;

namespace PhasedDmd.Models;

/// <summary>
/// How libtorch runs TorchScript modules in this process. Its default graph executor profiles the first calls of a graph
/// and then runs an optimised copy behind guards on the inputs' shapes, dtypes and <c>requires_grad</c>; distillation calls one
/// script in several such states (the teacher without gradient, an expert and a fake score with it, rollouts without), and
/// the guards and re-specialisations cost more than the optimisations save on CPU: a phased K = 2 update of the imported
/// ring8 MLP took 0.042–0.051 s with them and 0.024 s without, against 0.026–0.028 s for the native MLP (<c>bench</c>'s
/// TorchScript section). So the first script loaded turns graph optimisation off for the process (libtorch's
/// <c>torch._C._set_graph_executor_optimize(False)</c>); the interpreter then runs the graph as saved, with the same
/// results. <c>PHASEDDMD_JIT_OPTIMIZE=1</c> keeps libtorch's default.
/// </summary>
public static class ScriptExecutor
{
    public const string Variable = "PHASEDDMD_JIT_OPTIMIZE";

    private static int configured;

    /// <summary>Whether graph optimisation is on (libtorch's default) for scripts in this process, once <see cref="Configure"/> ran.</summary>
    public static bool Optimizing { get; private set; } = true;

    public static void Configure()
    {
        if (Interlocked.Exchange(ref configured, 1) == 1) return;
        if (Environment.GetEnvironmentVariable(Variable) == "1") return;
        try
        {
            SetGraphExecutorOptimize(false);
            Optimizing = false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }   // another libtorch: its default stays
    }

    [DllImport("libtorch_cpu", EntryPoint = "_ZN5torch3jit24setGraphExecutorOptimizeEb")]
    private static extern void SetGraphExecutorOptimize([MarshalAs(UnmanagedType.I1)] bool optimize);
}
