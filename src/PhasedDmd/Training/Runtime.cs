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
        if (device.StartsWith("cuda", StringComparison.Ordinal) && !torch.cuda.is_available())
            throw new InputException($"device: '{device}' requested but CUDA is not available in this libtorch build");
        return torch.device(device);
    }

    /// <summary>A CPU generator for reproducible data and noise draws, independent of libtorch's global one.</summary>
    public static Generator NewGenerator(long seed) => new((ulong)seed);
}

/// <summary>Exponential moving average of a model's parameters (the EMA model is what gets saved).</summary>
public sealed class Ema : IDisposable
{
    public Models.VelocityModel Model { get; }
    private readonly double _decay;

    public Ema(Models.VelocityModel source, double decay)
    {
        _decay = decay;
        Model = source.Spec.Build();
        Model.to(source.parameters().First().device);
        Copy(source, Model);
        foreach (var p in Model.parameters()) p.requires_grad_(false);
    }

    public void Update(Models.VelocityModel source)
    {
        using var _ = torch.no_grad();
        foreach (var (e, p) in Model.parameters().Zip(source.parameters()))
            e.mul_(_decay).add_(p.detach(), alpha: 1 - _decay);
    }

    public static void Copy(nn.Module from, nn.Module to)
    {
        using var _ = torch.no_grad();
        foreach (var (dst, src) in to.parameters().Zip(from.parameters())) dst.copy_(src);
    }

    public void Dispose() => Model.Dispose();
}
