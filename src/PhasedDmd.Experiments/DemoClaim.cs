namespace PhasedDmd.Experiments;

/// <summary>A statement of the paper checked on our numbers: what was compared and whether it held.</summary>
public sealed record DemoClaim(string Claim, string Evidence, bool Holds);
