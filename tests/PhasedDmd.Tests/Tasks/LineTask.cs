using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Tasks;
using PhasedDmd.Training;

namespace PhasedDmd.Tests.Tasks;

/// <summary>
/// A task the library does not know, defined here as a user would: three 2-D modes on a line, with its own teacher
/// and distillation defaults (small, so that the suite runs it in seconds). Registering it is all it takes.
/// </summary>
public sealed class LineTask() : PointTask("test-line", "three 2-D modes on a line (a task of the test suite)", _ => Exact)
{
    public static readonly LineTask Instance = new();

    /// <summary>The exact distribution: modes at −3, 0 and 3 on the x axis, std 0.25, weights 0.5 / 0.3 / 0.2.</summary>
    public static GaussianMixture Exact => new([[-3.0, 0.0], [0.0, 0.0], [3.0, 0.0]], [0.25, 0.25, 0.25], [0.5, 0.3, 0.2]);

    public override TeacherConfig TeacherDefaults() => new() { Task = Name, Hidden = 64, Layers = 3, Iterations = 800, BatchSize = 256, LogEvery = 100 };

    public override DistillConfig DistillDefaults(ModelCard teacher) => new() { IterationsPerPhase = 150, BatchSize = 128, FakeUpdatesPerGeneratorUpdate = 2 };
}
