using PhasedDmd.Data;
using PhasedDmd.IO;
using PhasedDmd.Models;
using static TorchSharp.torch;

namespace PhasedDmd.Training;

/// <summary>What teacher training needs of a task (<see cref="TaskRegistry"/>): its data, its network and its default config.</summary>
public interface ITeacherTask : ITask
{
    /// <summary>Whether <c>train-teacher</c> can train on it (an imported model's task has no data).</summary>
    bool HasTrainingData { get; }

    /// <summary>The default teacher training config (<c>train-teacher --task NAME</c> starts from it).</summary>
    TeacherConfig TeacherDefaults();

    /// <summary>Checks the task-specific fields of a teacher config; the message names the field.</summary>
    void Validate(TeacherConfig config);

    /// <summary>The teacher's network, its card's task record and its training data.</summary>
    TeacherData OpenTeacherData(TeacherConfig config);
}

/// <summary>What a teacher trains on: its network, the task record of its card, and its data.</summary>
/// <param name="Sample">n examples (x_0 [n, …] and their labels or prompt ids), drawn from the generator.</param>
public sealed record TeacherData(ModelSpec Spec, TaskSpec Card, Func<int, Generator, (Tensor X0, Tensor Labels)> Sample);
