using System.Runtime.CompilerServices;
using PhasedDmd.Data;

namespace PhasedDmd.Tasks;

/// <summary>
/// Registers the built-in tasks when the library loads, before anything can ask for one by name. A module initializer,
/// because the registry sits in a low layer (<c>Data</c>) that must not name the tasks above it.
/// </summary>
internal static class BuiltInTasks
{
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "the library's own registry, filled before first use; nothing else runs here")]
    internal static void Register()
    {
        foreach (var task in (ITask[])[PointTask.Gmm1d, PointTask.Ring8, PointTask.Grid9, PointTask.UserMixture,
                                       new GlyphsDefinition(), new MotionDefinition(), new FreeMotionDefinition(), new FashionMnistDefinition(),
                                       ImportedTask.Instance])
            TaskRegistry.Register(task);
    }
}
