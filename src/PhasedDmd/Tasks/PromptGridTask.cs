using System.Text.Json.Nodes;
using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.Evaluation;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using static TorchSharp.torch;

namespace PhasedDmd.Tasks;

/// <summary>
/// A text-conditioned task (miniature text-to-image or text-to-video): the teacher is a DiT conditioned on the
/// prompt's tokens, and a model is scored on the task's evaluation prompts × seeds (<see cref="IPromptGridTask"/>).
/// </summary>
public abstract class PromptGridTask : TaskDefinition, IPromptGridTask
{
    public abstract IProceduralTask Data { get; }
    IProceduralTask? ITask.Procedural => Data;

    public override string Name => Data.Name;

    /// <summary>The teacher's DiT for this task's samples and prompts.</summary>
    public DitSpec TeacherSpec(TeacherConfig config)
        => new(Data.SampleShape, config.Patch, config.TubeletFrames, config.Width, config.Depth, config.Heads, Data.Vocabulary.Size,
               Data.Vocabulary.Length, LocalMixing: config.LocalMixing, PromptTokens: config.PromptTokens, DataStd: config.DataStd);

    public override TeacherData OpenTeacherData(TeacherConfig config)
    {
        var spec = TeacherSpec(config);
        spec.Build().Dispose();   // validates the sizes against the data shape before any work starts
        return new TeacherData(spec, new TaskSpec(Name), Data.SampleTraining);
    }

    /// <summary>A DiT teacher distils at a small batch with few fake updates (sized by measurement for minutes on 2 CPU cores), at its own guidance.</summary>
    public override DistillConfig DistillDefaults(ModelCard teacher) => DistillConfig.LargeSampleDefaults with { TeacherCfg = teacher.Sampling.Cfg };

    public abstract JsonObject Measure(float[] pixels, IReadOnlyList<string> prompts, int seeds);
    public abstract Tensor RealGrid(IReadOnlyList<string> prompts, int seeds, int seed);
    public abstract (double SameLayout, double MeanCentreShift) LayoutAgreement(float[] a, float[] b);
    public abstract IReadOnlyList<(string Label, string Key)> EvalRows { get; }
    public abstract IReadOnlyList<string> CompareKeys { get; }
    public abstract (string First, string Second, string Description) PromptFollowing { get; }
    public abstract (string Key, string Name) Fidelity { get; }
    public virtual EncoderSpec? Encoder => null;

    public virtual (Tensor X, Tensor Categories, Tensor Regressions) EncoderBatch(int n, Generator generator)
        => throw new InputException($"task: '{Name}' has no feature encoder");

    protected static JsonObject ToJson<T>(T metrics) => JsonNode.Parse(Json.SerializeMetrics(metrics))!.AsObject();
}
