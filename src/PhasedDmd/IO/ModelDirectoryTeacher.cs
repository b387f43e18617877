using PhasedDmd.Models;

namespace PhasedDmd.IO;

/// <summary>A teacher saved as a model directory (<c>model.json</c> and verified <c>model.safetensors</c>).</summary>
public sealed class ModelDirectoryTeacher(string dir, ModelCard card) : ITeacherSource
{
    public string Dir { get; } = dir;
    public ModelCard Card { get; } = card;

    public VelocityModel Load() => ModelDirectory.Load(Dir).Model;
}
