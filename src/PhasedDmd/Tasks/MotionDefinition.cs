using System.Text.Json.Nodes;
using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Tasks;

/// <summary>
/// <c>motion</c>, miniature text-to-video whose prompt fixes shape and direction (<see cref="MotionTask"/>): measured
/// by tracking the shape (<see cref="MotionMetrics"/>: accuracy, speed, optical flow, dynamic degree), with a feature
/// encoder trained on shape, direction, speed and centre.
/// </summary>
public sealed class MotionDefinition : PromptGridTask
{
    public override IProceduralTask Data { get; } = new MotionTask();
    public override string Summary => "miniature text-to-video: a shape moving in the prompt's direction (8 frames of 16×16)";

    /// <summary>A DiT sized (by measurement) to train in about 15 minutes on 2 CPU cores.</summary>
    public override TeacherConfig TeacherDefaults() => Defaults(Name);

    /// <summary>The video DiT teacher config shared by motion and motion-free.</summary>
    internal static TeacherConfig Defaults(string task) => new()
    {
        Task = task, Width = 96, Depth = 4, Heads = 4, Patch = 4, TubeletFrames = 2, Iterations = 4000, BatchSize = 64,
        LearningRate = 1e-3, WarmupIterations = 200, EmaDecay = 0.999, ConditionDropout = 0.1, SampleCfg = 3.0, LogEvery = 50, CheckpointEvery = 500,
    };

    public override JsonObject Measure(float[] pixels, IReadOnlyList<string> prompts, int seeds) => ToJson(MotionMetrics.FromSamples(pixels, prompts, seeds));

    /// <summary>The prompt fixes shape and direction; start and speed are drawn.</summary>
    public override Tensor RealGrid(IReadOnlyList<string> prompts, int seeds, int seed)
    {
        using var generator = Runtime.NewGenerator(seed + 7919);
        var clips = new List<MotionAttributes>();
        for (var s = 0; s < seeds; s++)
            foreach (var p in prompts)
            {
                var w = p.Split(' ');
                if (w.Length != 3 || !MotionTask.Shapes.Contains(w[0]) || !MotionTask.Directions.Contains(w[2]))
                    throw new InputException($"not a motion prompt: '{p}' (expected 'SHAPE moving DIRECTION')");
                MotionAttributes? found = null;
                while (found is null) found = MotionTask.SampleAttributes(16, generator).FirstOrDefault(a => a.Direction == w[2]);
                clips.Add(found with { Shape = w[0] });
            }
        return MotionTask.RenderBatch(clips);
    }

    public override (double SameLayout, double MeanCentreShift) LayoutAgreement(float[] a, float[] b) => MotionMetrics.LayoutAgreement(a, b);

    public override IReadOnlyList<(string Label, string Key)> EvalRows { get; } =
    [
        ("shape accuracy", "shape_accuracy"), ("direction accuracy", "direction_accuracy"), ("mean speed, px/frame (data: 0.75)", "mean_speed"),
        ("speed spread per prompt (data: 0.29)", "speed_spread_per_prompt"), ("mean shape match (soft IoU)", "mean_shape_match"),
        ("mean optical flow, px/frame (data: 0.75)", "mean_absolute_flow"), ("dynamic degree (flow > {threshold})", "dynamic_degree"),
    ];

    public override IReadOnlyList<string> CompareKeys { get; } =
        ["shape_accuracy", "direction_accuracy", "mean_speed", "speed_spread_per_prompt", "mean_absolute_flow", "dynamic_degree", "features.perceptual", "features.composition.spread_ratio", "seconds"];

    public override (string First, string Second, string Description) PromptFollowing => ("shape_accuracy", "direction_accuracy", "shape / direction accuracy");

    public override (string Key, string Name) Fidelity => ("shape_accuracy", "shape");

    public override EncoderSpec Encoder => new("motion", MotionTask.Frames, [MotionTask.Shapes.Length, MotionTask.Directions.Length],
        ["shape", "direction"], ["speed", "centreX", "centreY"], ImageSize: MotionTask.Size);

    public override (Tensor X, Tensor Categories, Tensor Regressions) EncoderBatch(int n, Generator generator)
    {
        var attrs = MotionTask.SampleAttributes(n, generator);
        var pixels = MotionTask.RenderBatch(attrs);
        var c = attrs.SelectMany(a => new long[] { Array.IndexOf(MotionTask.Shapes, a.Shape), Array.IndexOf(MotionTask.Directions, a.Direction) }).ToArray();
        var h = MotionTask.Size / 2.0 - 0.5;
        var r = attrs.SelectMany(a =>
        {
            var (cx, cy) = a.CentreAt(MotionTask.Frames / 2);
            return new[] { (float)((a.Speed - 0.75) / 0.5), (float)((cx - h) / h), (float)((cy - h) / h) };
        }).ToArray();
        return (pixels, torch.tensor(c, [n, 2]), torch.tensor(r, [n, 3]));
    }
}
