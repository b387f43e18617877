namespace PhasedDmd.Training;

/// <summary>What a training loop reports after each update.</summary>
/// <param name="Done">Updates done so far in the whole run (resumed runs count the earlier ones).</param>
/// <param name="Total">Updates the run makes in all.</param>
/// <param name="Phase">The phase (1-based; 1 for teacher training).</param>
/// <param name="Iteration">The update's index within its phase (1-based).</param>
/// <param name="Status">A short status line for progress displays (set on logged updates).</param>
/// <param name="Logged">The scalars of this update when it is a logged one (every <c>logEvery</c>), else null.</param>
public sealed record UpdateReport(long Done, long Total, int Phase, int Iteration, string Status, IReadOnlyList<(string Key, double Value)>? Logged);
