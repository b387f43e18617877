using PhasedDmd.Generators;
using PhasedDmd.IO;
using PhasedDmd.Models;
using static TorchSharp.torch;

namespace PhasedDmd.Sampling;

/// <summary>A loaded model directory: a teacher (an ODE to integrate) or a student (its own few-step grid).</summary>
public sealed class LoadedModel : IDisposable
{
    public required ModelCard Card { get; init; }
    public VelocityModel? Network { get; init; }
    public StudentGenerator? Student { get; init; }

    public static LoadedModel Load(string dir, Device? device = null)
    {
        var card = ModelDirectory.ReadCard(dir);
        if (card.Student is not null)
        {
            var (c, student) = StudentDirectory.Load(dir, device);
            return new LoadedModel { Card = c, Student = student };
        }
        var (tc, network) = ModelDirectory.Load(dir, device);
        return new LoadedModel { Card = tc, Network = network };
    }

    public bool IsConditional => Network?.IsConditional ?? Student!.Expert(1).IsConditional;

    public void Dispose()
    {
        Network?.Dispose();
        Student?.Dispose();
    }
}
