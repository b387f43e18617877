using PhasedDmd.Models;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Models;

/// <summary>
/// libtorch's convolutions against independent truths: the forward pass against a float64 unfold and matrix product, and the
/// input gradient against the adjoint identity (y = conv(x) without bias is linear in x, so the gradient g of ⟨conv(x), w⟩
/// satisfies ⟨g, x′⟩ = ⟨conv(x′), w⟩ for every x′). libtorch 2.10's oneDNN fails both on AVX-512 for 24 or 72 input channels
/// unless <see cref="OneDnn"/> caps it.
/// </summary>
public class ConvolutionTests
{
    [Fact]
    public void OneDnn_is_capped_when_the_library_loads()
        => Assert.False(string.IsNullOrEmpty(OneDnn.MaxCpuIsa), $"{OneDnn.Variable} is not set in the native environment");

    [Theory]
    [InlineData(24, 1, 28)]
    [InlineData(24, 3, 28)]
    [InlineData(24, 24, 28)]
    [InlineData(72, 24, 28)]
    [InlineData(32, 64, 16)]
    [InlineData(1, 24, 28)]
    public void A_convolution_and_its_input_gradient_are_right(int inChannels, int outChannels, int size)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var conv = nn.Conv2d(inChannels, outChannels, 3, padding: 1, bias: false);
        var w = randn(8, outChannels, size, size);
        for (var call = 0; call < 2; call++)   // the broken kernels gave non-finite gradients on the first call and wrong ones after
        {
            var x = randn(8, inChannels, size, size).requires_grad_(true);
            var y = conv.forward(x);
            using (no_grad())
            {
                var truth = conv.weight!.to(ScalarType.Float64).reshape(outChannels, -1)
                    .matmul(nn.functional.unfold(x.to(ScalarType.Float64), 3, padding: 1)).reshape(8, outChannels, size, size);
                var error = (y.to(ScalarType.Float64) - truth).abs().max().item<double>();
                Assert.True(error < 1e-4, $"call {call}: the forward pass is off by {error}");
            }
            OneDnn.Backward((y * w).sum());   // as every backward pass of the library runs
            var g = x.grad!;
            Assert.True(g.isfinite().all().item<bool>(), $"call {call}: non-finite gradient");
            using var noGrad = no_grad();
            var probe = randn(8, inChannels, size, size);
            var lhs = (g.to(ScalarType.Float64) * probe.to(ScalarType.Float64)).sum().item<double>();
            var rhs = (conv.forward(probe).to(ScalarType.Float64) * w.to(ScalarType.Float64)).sum().item<double>();
            Assert.True(Math.Abs(lhs - rhs) <= 1e-3 * Math.Max(1, Math.Abs(rhs)), $"call {call}: ⟨g, x′⟩ = {lhs}, ⟨conv(x′), w⟩ = {rhs}");
        }
    }
}
