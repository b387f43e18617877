namespace PhasedDmd.Evaluation;

/// <summary>What <c>encoder.json</c> holds: the spec, the training config and the held-out accuracy of every head.</summary>
public sealed record EncoderCard(EncoderSpec Spec, EncoderTrainingConfig Training, Dictionary<string, double> HeldOutAccuracy,
                                 Dictionary<string, double> HeldOutRmse, double Seconds);
