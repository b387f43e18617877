namespace PhasedDmd.Data;

/// <summary>
/// A task, as the registry knows it (<see cref="TaskRegistry"/>): a name, one line about it, and, for a
/// text-conditioned task, its prompts and data. What else a task carries is declared by the layer that uses
/// it and implemented by the task's class (<c>PhasedDmd.Tasks</c>): its teacher's data and defaults
/// (<c>Training.ITeacherTask</c>), its distillation defaults (<c>Distillation.IDistillationTask</c>) and its
/// prompt-grid evaluation (<c>Evaluation.IPromptGridTask</c>).
/// </summary>
public interface ITask
{
    /// <summary>The name in configs, model cards and on the command line.</summary>
    string Name { get; }

    /// <summary>One line for help texts and lists.</summary>
    string Summary { get; }

    /// <summary>The prompts, vocabulary and data of a text-conditioned task; null for a task on points.</summary>
    IProceduralTask? Procedural => null;

    /// <summary>
    /// Whether a model imported from TorchScript (<c>import-teacher --task NAME</c>) with these samples and condition names can be
    /// measured as this task: null when it can, else the reason. Only tasks made for imported models accept them.
    /// </summary>
    string? CheckImported(long[] sampleShape, IReadOnlyList<string>? conditionNames) => $"task '{Name}' does not take imported models";
}
