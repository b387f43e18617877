using static TorchSharp.torch;

namespace PhasedDmd.Diffusion;

/// <summary>
/// The Gaussian noise of a run, in one place: drawn from the run's generator where it lives (the CPU), so that a seeded
/// run draws the same numbers whatever device it computes on, then moved to that device. Times come from
/// <see cref="TimestepSampler"/> the same way.
/// </summary>
public static class Noise
{
    /// <summary>Standard normal noise of <paramref name="shape"/> from <paramref name="generator"/>, on <paramref name="device"/>.</summary>
    public static Tensor Gaussian(long[] shape, Generator? generator, Device device) => randn(shape, generator: generator).to(device);
}
