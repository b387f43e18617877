namespace PhasedDmd.Experiments;

public sealed record ComparisonRow(string Name, int Seeds, Dictionary<string, double> Mean, Dictionary<string, double> Std);
