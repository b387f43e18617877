using PhasedDmd.Models;

namespace PhasedDmd.IO;

/// <summary>
/// Where a teacher comes from: its card (task, schedule, sampling defaults) and a fresh copy of its
/// network. Today the one source is a model directory written by <c>train-teacher</c>
/// (<see cref="ModelDirectoryTeacher"/>); a teacher defined elsewhere (a TorchScript file, a user's own
/// <see cref="VelocityModel"/>) is another implementation, and every command that takes a teacher
/// opens it through <see cref="Open"/>.
/// </summary>
public interface ITeacherSource
{
    /// <summary>What the teacher is; read without loading its weights.</summary>
    ModelCard Card { get; }

    /// <summary>A new copy of the teacher's network with its weights, on the CPU; the caller owns it.</summary>
    VelocityModel Load();

    /// <summary>The teacher at <paramref name="path"/>: a teacher's model directory (a student is refused).</summary>
    static ITeacherSource Open(string path, string option = "teacher")
    {
        var card = ModelDirectory.ReadCard(path);
        if (card.Student is not null) throw new InputException($"{option}: {path} is a student, not a teacher");
        return new ModelDirectoryTeacher(path, card);
    }
}
