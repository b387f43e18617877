using PhasedDmd.Diffusion;
using PhasedDmd.Generators;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.IO;

/// <summary>Model directories of students: the same layout as a teacher's, the weights holding every expert.</summary>
public static class StudentDirectory
{
    public static void Save(string dir, ModelCard card, StudentGenerator student)
    {
        Directory.CreateDirectory(dir);
        ModelDirectory.CopyScript(card.Network, dir);
        ModelDirectory.SaveWeights(student, Path.Combine(dir, ModelDirectory.WeightsFile));
        Json.Write(Path.Combine(dir, ModelDirectory.CardFile), card);
    }

    public static (ModelCard Card, StudentGenerator Student) Load(string dir, Device? device = null)
    {
        var card = ModelDirectory.ReadCard(dir);
        if (card.Student is null) throw new InputException($"{dir} is not a student (its card has no 'student' section)");
        var student = StudentGenerator.Create(card.Network, card.Student, NoiseSchedule.FromName(card.Schedule));
        ModelDirectory.LoadWeights(student, Path.Combine(dir, ModelDirectory.WeightsFile));
        if (device is not null) student.to(device);
        student.eval();
        return (card, student);
    }
}
