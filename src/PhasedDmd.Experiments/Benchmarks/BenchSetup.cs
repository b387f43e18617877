using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;

namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>
/// Teachers for benchmarks: a freshly initialised network of the default size (time and memory do
/// not depend on the weights' values; a trained teacher can be passed instead), with the card
/// the distiller needs.
/// </summary>
public static class BenchSetup
{
    public static BenchModel ParseModel(string name) => name.ToLowerInvariant() switch
    {
        "mlp" => BenchModel.Mlp,
        "dit" => BenchModel.Dit,
        _ => throw new InputException($"--model: unknown benchmark model '{name}' (expected mlp or dit)"),
    };

    public static string Name(BenchModel model) => model == BenchModel.Mlp ? "mlp" : "dit";

    /// <summary>The MLP of ring8 or the DiT of glyphs, initialised from <paramref name="seed"/>.</summary>
    public static (ModelCard Card, VelocityModel Teacher) Teacher(BenchModel model, int seed)
    {
        torch.manual_seed(seed);
        var config = TeacherConfig.ForTask(model == BenchModel.Mlp ? "ring8" : "glyphs");
        var data = config.Definition.OpenTeacherData(config);
        var network = data.Spec.Build();
        if (network is DitVelocityModel)
            using (torch.no_grad())
                foreach (var p in network.parameters())
                    if (p.abs().max().item<float>() == 0) p.normal_(0, 0.02);   // adaLN-Zero starts at exactly zero; make every path carry signal
        var card = new ModelCard
        {
            Role = "teacher",
            Task = data.Card,
            Network = data.Spec,
            Sampling = new SamplingDefaults(config.SampleSteps, config.SampleSolver, network.IsConditional ? config.SampleCfg : 1.0),
        };
        return (card, network);
    }

    /// <summary>Batch and fake updates per generator update: the distillation defaults of that model.</summary>
    public static (int Batch, int FakeUpdates) Defaults(BenchModel model)
        => model == BenchModel.Mlp ? (512, 5) : (32, 2);
}
