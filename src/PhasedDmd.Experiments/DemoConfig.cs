namespace PhasedDmd.Experiments;

/// <summary>
/// Settings of <c>phased-dmd demo</c>: how long each part trains and how many samples it is judged
/// on. <see cref="Default"/> fits about 15 minutes on 2 CPU cores, <see cref="QuickRun"/> about 3
/// (same code paths, fewer iterations and samples). Saved in <c>report.json</c>.
/// </summary>
public sealed record DemoConfig
{
    public bool Quick { get; init; }
    /// <summary>Train the ring8, glyphs and motion-free teachers instead of using the shipped ones.</summary>
    public bool FromScratch { get; init; }
    public int Seed { get; init; }
    public int Threads { get; init; } = 2;
    public string Device { get; init; } = "cpu";

    /// <summary>DiT generator updates per phase of the 2-phase Phased DMD student; dmd and sgts (one expert) get twice as many, so every method makes the same number of updates.</summary>
    public int ImageIterationsPerPhase { get; init; } = 70;
    /// <summary>The same for the ring8 MLP students.</summary>
    public int RingIterationsPerPhase { get; init; } = 200;
    public int Toy1dIterations { get; init; } = 1500;
    /// <summary>Seeds per prompt of the glyphs (and motion) evaluations (the paper: 8).</summary>
    public int SeedsPerPrompt { get; init; } = 8;
    /// <summary>Seeds per prompt of the motion-free evaluation: its shares of still and moving clips need more clips than 8 per prompt.</summary>
    public int MotionFreeSeedsPerPrompt { get; init; } = 32;
    /// <summary>Evaluation prompts used per task; 0 = all of them (glyphs 21, motion-free 8).</summary>
    public int PromptLimit { get; init; }
    public int MixtureSamples { get; init; } = 5000;
    /// <summary>Fig. 5: the high-SNR expert is retrained for this many times the iterations, the low-SNR expert frozen.</summary>
    public int Fig5Multiplier { get; init; } = 4;
    /// <summary>The task of the Fig. 5 study and of the image-scale ablations (App. E.2, Table 6); glyphs when a glyphs teacher is available, else motion-free.</summary>
    public string StudyTask { get; init; } = "glyphs";
    /// <summary>Image-scale ablations (disjoint intervals, naive fake objective, 4 phases) on <see cref="StudyTask"/>.</summary>
    public bool ImageAblations { get; init; } = true;

    public static DemoConfig Default(int seed = 0) => new() { Seed = seed };

    public static DemoConfig QuickRun(int seed = 0) => new()
    {
        Quick = true, Seed = seed, ImageIterationsPerPhase = 12, RingIterationsPerPhase = 60, Toy1dIterations = 300,
        SeedsPerPrompt = 4, MotionFreeSeedsPerPrompt = 16, PromptLimit = 6, MixtureSamples = 2000, ImageAblations = false,
    };

    /// <summary>Seeds per prompt of a task's evaluation grid.</summary>
    public int SeedsFor(string task) => task == "motion-free" ? MotionFreeSeedsPerPrompt : SeedsPerPrompt;

    public void Validate()
    {
        static void Require(bool ok, string message) { if (!ok) throw new InputException(message); }
        Require(ImageIterationsPerPhase >= 2, $"imageIterationsPerPhase: must be ≥ 2 (got {ImageIterationsPerPhase})");
        Require(RingIterationsPerPhase >= 2, $"ringIterationsPerPhase: must be ≥ 2 (got {RingIterationsPerPhase})");
        Require(Toy1dIterations >= 1, $"toy1dIterations: must be ≥ 1 (got {Toy1dIterations})");
        Require(SeedsPerPrompt >= 2, $"seedsPerPrompt: must be ≥ 2 (diversity needs pairs; got {SeedsPerPrompt})");
        Require(MotionFreeSeedsPerPrompt >= 2, $"motionFreeSeedsPerPrompt: must be ≥ 2 (diversity needs pairs; got {MotionFreeSeedsPerPrompt})");
        Require(PromptLimit >= 0, $"promptLimit: must be ≥ 0 (got {PromptLimit})");
        Require(MixtureSamples >= 100, $"mixtureSamples: must be ≥ 100 (got {MixtureSamples})");
        Require(Fig5Multiplier >= 2, $"fig5Multiplier: must be ≥ 2 (got {Fig5Multiplier})");
        Require(Demo.ImageTasks.Contains(StudyTask), $"studyTask: must be {string.Join(" or ", Demo.ImageTasks)} (got '{StudyTask}')");
        Require(Threads >= 0, $"threads: must be ≥ 0 (got {Threads})");
    }
}
