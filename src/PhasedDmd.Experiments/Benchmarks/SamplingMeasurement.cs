namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>Images per second of the teacher (many steps, CFG with cond/uncond batched) and of a 4-step student.</summary>
public sealed record SamplingMeasurement(
    int Threads, int Batch, int TeacherSteps, double TeacherCfg, int TeacherEvaluationsPerImage, int StudentSteps,
    double TeacherImagesPerSecond, double StudentImagesPerSecond)
{
    public double Speedup => StudentImagesPerSecond / TeacherImagesPerSecond;
}
