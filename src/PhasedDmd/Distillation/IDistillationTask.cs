using PhasedDmd.Data;
using PhasedDmd.IO;

namespace PhasedDmd.Distillation;

/// <summary>What distillation needs of a task (<see cref="TaskRegistry"/>): the defaults for a teacher of it.</summary>
public interface IDistillationTask : ITask
{
    /// <summary>The distillation defaults for this teacher (docs/import.md, "Distillation defaults").</summary>
    DistillConfig DistillDefaults(ModelCard teacher);
}
