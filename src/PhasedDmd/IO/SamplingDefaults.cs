namespace PhasedDmd.IO;

/// <summary>Default sampling settings of a model (a teacher: many ODE steps; a student: its own grid).</summary>
public sealed record SamplingDefaults(int Steps = 40, string Solver = "euler", double Cfg = 1.0, double Shift = 1.0);
