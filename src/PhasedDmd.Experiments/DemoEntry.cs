namespace PhasedDmd.Experiments;

/// <summary>One model of a table: its measures (flattened, e.g. <c>features.composition.spreadRatio</c>), training time and updates.</summary>
public sealed record DemoEntry(string Name, string Method, string ModelDir, double? TrainSeconds, int GeneratorUpdates, Dictionary<string, double> Metrics);
