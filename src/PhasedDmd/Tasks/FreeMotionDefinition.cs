using System.Text.Json.Nodes;
using PhasedDmd.Data;
using PhasedDmd.Evaluation;
using PhasedDmd.Training;
using static TorchSharp.torch;

namespace PhasedDmd.Tasks;

/// <summary>
/// <c>motion-free</c>, miniature text-to-video whose prompt leaves the motion free (<see cref="FreeMotionTask"/>):
/// measured by the motion itself (<see cref="FreeMotionMetrics"/>: dynamic degree, still / moving / direction shares,
/// motion diversity), the measures a student that averages the motions of a prompt loses. It has no feature encoder.
/// </summary>
public sealed class FreeMotionDefinition : PromptGridTask
{
    public override IProceduralTask Data { get; } = new FreeMotionTask();
    public override string Summary => "miniature text-to-video: a shape that stays still or moves either way along the prompt's axis (8 frames of 16×16)";

    public override TeacherConfig TeacherDefaults() => MotionDefinition.Defaults(Name);

    public override JsonObject Measure(float[] pixels, IReadOnlyList<string> prompts, int seeds) => ToJson(FreeMotionMetrics.FromSamples(pixels, prompts, seeds));

    /// <summary>Row r holds one clip of every prompt drawn from seed + r (<see cref="FreeMotionMetrics.RealGrid"/>).</summary>
    public override Tensor RealGrid(IReadOnlyList<string> prompts, int seeds, int seed)
        => TorchSharp.torch.tensor(FreeMotionMetrics.RealGrid(prompts, seeds, seed), [seeds * prompts.Count, .. Data.SampleShape]);

    public override (double SameLayout, double MeanCentreShift) LayoutAgreement(float[] a, float[] b) => MotionMetrics.LayoutAgreement(a, b);

    public override IReadOnlyList<(string Label, string Key)> EvalRows { get; } =
    [
        ("shape accuracy", "shape_accuracy"), ("axis accuracy (moving clips)", "axis_accuracy"),
        ("mean optical flow, px/frame (real clips: 0.55)", "mean_absolute_flow"), ("dynamic degree (tracked speed > {threshold}; data: 0.75)", "dynamic_degree"),
        ("still share (data: 0.25)", "still_share"), ("negative direction share (data: 0.375)", "negative_share"), ("positive direction share (data: 0.375)", "positive_share"),
        ("direction distribution TV to the data's", "direction_tv"), ("motion diversity, px/frame (real clips: 0.63)", "motion_diversity"),
        ("motion diversity / data", "motion_diversity_ratio"), ("tracked speed of moving clips (real clips: 0.68)", "mean_speed"),
    ];

    public override IReadOnlyList<string> CompareKeys { get; } =
        ["mean_absolute_flow", "dynamic_degree", "motion_diversity", "motion_diversity_ratio", "direction_tv", "still_share", "mean_speed", "shape_accuracy", "axis_accuracy", "seconds"];

    public override (string First, string Second, string Description) PromptFollowing => ("shape_accuracy", "axis_accuracy", "shape / axis accuracy");

    public override (string Key, string Name) Fidelity => ("shape_accuracy", "shape");
}
