namespace PhasedDmd.Training;

/// <summary>Calls an action right after the checkpoint at the end of a phase (the crash-and-resume tests kill the process there).</summary>
public sealed class PhaseEndHook(Action<int> afterPhase) : ITrainingObserver
{
    public void CheckpointWritten(int phase, int iteration, bool phaseEnd)
    {
        if (phaseEnd) afterPhase(phase);
    }
}
