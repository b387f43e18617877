namespace PhasedDmd.Evaluation;

/// <summary>Settings of an encoder training run (recorded in <c>encoder.json</c>).</summary>
public sealed record EncoderTrainingConfig(string Task, int Iterations = 1500, int BatchSize = 128, double LearningRate = 2e-3,
                                           double MaxInputNoise = 0.3, int Seed = 0, int Threads = 0);
