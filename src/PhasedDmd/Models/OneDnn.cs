using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// Works around two faults of libtorch's oneDNN (mkldnn) convolutions in the libtorch 2.10 that TorchSharp 0.107 carries, measured
/// on this project's AVX-512 machines (<c>ConvolutionTests</c> check the forward pass against a float64 unfold and the input
/// gradient against the adjoint identity; each fails without its workaround):
/// <list type="number">
/// <item>its AVX-512 kernels compute wrong convolutions for common channel counts (a 3×3 convolution from 24 or 72 channels at
/// 28×28 was off by a quarter of its output's scale). oneDNN reads a cap from the environment variable <c>ONEDNN_MAX_CPU_ISA</c>
/// when it first runs, so the library sets it to AVX2 in the native environment when it loads, unless it is already set. The
/// AVX2 kernels are right and about as fast here. A program that runs convolutions through TorchSharp before it first uses
/// PhasedDmd should set the variable itself;</item>
/// <item>even at AVX2, its backward pass gave non-finite input gradients on the first call for few output channels (an image
/// model's 24 → 1 output layer), which reach every parameter. libtorch chooses a convolution backward's kernels when it runs, so
/// every backward pass of the library goes through <see cref="Backward"/>, which turns oneDNN off while it runs
/// (<c>at::globalContext().setUserEnabledMkldnn</c> in libtorch_cpu; TorchSharp has no switch for it). Forward passes keep oneDNN.</item>
/// </list>
/// </summary>
public static class OneDnn
{
    public const string Variable = "ONEDNN_MAX_CPU_ISA";
    public const string Cap = "AVX2";

    /// <summary>The ISA cap oneDNN sees (null if none is set).</summary>
    public static string? MaxCpuIsa => Marshal.PtrToStringAnsi(GetEnv(Variable));

    /// <summary>The ISA level oneDNN needs for its bfloat16 matrix kernels (AVX512-BF16); at the AVX2 cap its bf16 products run at ~1 GFLOP/s.</summary>
    public const string Bf16Isa = "AVX512_CORE_BF16";

    private static bool capSetHere;

    /// <summary>
    /// Lifts the cap to <see cref="Bf16Isa"/> for a process that runs no convolution (a transformer in bf16): oneDNN's bf16 matrix
    /// products are then fast (1024² at ~700 GFLOP/s here against ~170 in float32), but its AVX-512 convolutions are wrong in
    /// float32 and bf16 alike, so this is only for processes without them. oneDNN reads the cap once, when it first runs: call this
    /// before any libtorch computation. A cap the user set is left alone. Returns whether the cap is now the bf16 level.
    /// </summary>
    public static bool LiftCapForBf16()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (capSetHere && MaxCpuIsa == Cap) SetEnv(Variable, Bf16Isa, overwrite: 1);
        return MaxCpuIsa == Bf16Isa;
    }

    /// <summary>
    /// Whether <paramref name="network"/> can hold no convolution: none of its parameters has more than two dimensions (a convolution's
    /// weight has three or more). Some networks without convolutions fail this too (a [1, tokens, width] position table): the answer errs
    /// on the safe side.
    /// </summary>
    public static bool HasNoConvolutionWeights(TorchSharp.torch.nn.Module network) => network.parameters().All(p => p.dim() <= 2);

    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "must run before oneDNN's first convolution in the process, whichever command or library call comes first")]
    internal static void CapIsa()
    {
        if (!OperatingSystem.IsLinux()) return;
        capSetHere = string.IsNullOrEmpty(MaxCpuIsa);
        SetEnv(Variable, Cap, overwrite: 0);   // the native environment oneDNN reads, not .NET's copy of it
    }

    private static readonly Lock Gate = new();
    private static int offScopes;
    private static bool nnpackWasEnabled, mkldnnWasEnabled;
    private static readonly Lazy<IntPtr> Context = new(() =>
    {
        try { return GlobalContext(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException) { return IntPtr.Zero; }
    });

    /// <summary>Whether oneDNN is on now (false also when this libtorch lacks the entry points to ask).</summary>
    public static bool Enabled => Context.Value != IntPtr.Zero && UserEnabledMkldnn(Context.Value);

    /// <summary>
    /// Back-propagates <paramref name="loss"/> with oneDNN off: libtorch chooses a convolution backward's kernels when it runs, and
    /// oneDNN's gave non-finite input gradients on their first call even at AVX2 (every backward pass of the library goes through here).
    /// </summary>
    /// <remarks>
    /// In a process whose cap is at <see cref="Bf16Isa"/> (lifted by <see cref="LiftCapForBf16"/> for a run without convolutions, or
    /// set so by the user) oneDNN stays on: there is no convolution to protect, and without it bf16 matrix products fall back to a
    /// kernel of ~1 GFLOP/s.
    /// </remarks>
    public static void Backward(Tensor loss)
    {
        using var off = MaxCpuIsa == Bf16Isa ? default : Off();
        loss.backward();
    }

    /// <summary><see cref="Backward"/> as an extension.</summary>
    public static void BackwardWithoutOneDnn(this Tensor loss) => Backward(loss);

    /// <summary>Turns oneDNN (and NNPACK) off until the scope ends (counted, so nested and concurrent scopes keep it off until the last one ends).</summary>
    public static Scope Off()
    {
        if (Context.Value == IntPtr.Zero) return default;
        lock (Gate)
        {
            if (offScopes++ == 0)
            {
                mkldnnWasEnabled = UserEnabledMkldnn(Context.Value);
                SetUserEnabledMkldnn(Context.Value, false);
                // Without oneDNN libtorch would try NNPACK next, which on CPUs it does not support prints a warning on every backward pass.
                nnpackWasEnabled = UserEnabledNnpack(Context.Value);
                SetUserEnabledNnpack(Context.Value, false);
            }
        }
        return new Scope(true);
    }

    /// <summary>The scope of <see cref="Off"/>.</summary>
    public readonly struct Scope(bool active) : IDisposable
    {
        public void Dispose()
        {
            if (!active) return;
            lock (Gate)
            {
                if (--offScopes == 0)
                {
                    SetUserEnabledMkldnn(Context.Value, mkldnnWasEnabled);
                    SetUserEnabledNnpack(Context.Value, nnpackWasEnabled);
                }
            }
        }
    }

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.I1)] bool enabled);

    [DllImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.I1)]
    private static extern bool UserEnabledMkldnn(IntPtr context);

    [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.I1)] bool enabled);

    [DllImport("libtorch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledNNPACKEv")]
    [return: MarshalAs(UnmanagedType.I1)]
    private static extern bool UserEnabledNnpack(IntPtr context);

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr GetEnv(string name);
}
