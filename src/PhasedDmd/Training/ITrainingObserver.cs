namespace PhasedDmd.Training;

/// <summary>
/// Watches a training loop from outside it: logging, progress bars, benchmark timers and
/// fault injection are observers, not members of the trainers. Every method has an empty default.
/// </summary>
public interface ITrainingObserver
{
    /// <summary>A phase (teacher training: the run) starts; <paramref name="firstIteration"/> &gt; 1 when it resumes mid-phase.</summary>
    void PhaseStarted(int phase, int firstIteration) { }

    /// <summary>Work outside the updates has begun (e.g. the teacher sampling the validation set), after <paramref name="done"/> of <paramref name="total"/> updates.</summary>
    void Working(long done, long total, string what) { }

    /// <summary>After every update, once its tensors are released.</summary>
    void Updated(UpdateReport report) { }

    /// <summary>
    /// At every checkpoint, right after rank 0 has written it (other ranks get the call at the same
    /// point of the loop); <paramref name="phaseEnd"/> for the one exactly at a phase boundary.
    /// </summary>
    void CheckpointWritten(int phase, int iteration, bool phaseEnd) { }
}
