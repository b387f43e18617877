using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Training;

namespace PhasedDmd.Tasks;

/// <summary>
/// A task, as one object: the data a teacher is trained on, the teacher's and the distillation's defaults, and how
/// models of it are measured. Register it (<see cref="TaskRegistry.Register"/>) and every command knows it by name.
/// Two families measure differently: <see cref="PointTask"/> (samples scored against a known mixture) and
/// <see cref="PromptGridTask"/> (text-conditioned images or videos scored on a prompts × seeds grid).
/// </summary>
public abstract class TaskDefinition : ITeacherTask, IDistillationTask
{
    public abstract string Name { get; }
    public abstract string Summary { get; }
    public virtual bool HasTrainingData => true;
    public virtual TeacherConfig TeacherDefaults() => new() { Task = Name };
    public virtual void Validate(TeacherConfig config) { }
    public abstract TeacherData OpenTeacherData(TeacherConfig config);

    /// <summary>The prototype's settings (batch 512, 5 fake updates): the defaults made for small samples such as 2-D points.</summary>
    public virtual DistillConfig DistillDefaults(ModelCard teacher) => new();

    public override string ToString() => Name;
}
