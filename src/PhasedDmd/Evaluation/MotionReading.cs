namespace PhasedDmd.Evaluation;

/// <summary>What <see cref="MotionReader"/> reads from one clip.</summary>
public sealed record MotionReading(string Shape, string Direction, double Speed, double Match);
