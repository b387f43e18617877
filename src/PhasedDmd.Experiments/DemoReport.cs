namespace PhasedDmd.Experiments;

/// <summary>Everything the demo measured; written as <c>report.json</c>.</summary>
public sealed record DemoReport
{
    public required DemoConfig Config { get; init; }
    public Dictionary<string, string> Teachers { get; init; } = new();
    /// <summary>Tasks left out and why (e.g. no shipped teacher).</summary>
    public Dictionary<string, string> Skipped { get; init; } = new();
    /// <summary>The task the Fig. 5 study and the image-scale ablations ran on.</summary>
    public string StudyTask { get; set; } = "";
    public Dictionary<string, double> TeacherTrainSeconds { get; init; } = new();
    public Toy1dResult? Toy1d { get; set; }
    public List<ComparisonRow> Ring8 { get; init; } = new();
    /// <summary>Per task (glyphs, motion-free): teacher, dmd, sgts, phased — the Table 2 / Table 3 analogues.</summary>
    public Dictionary<string, List<DemoEntry>> Methods { get; init; } = new();
    /// <summary>Per task, the task's measures on real samples laid out as the evaluation grid (motion-free: the data's row of Table 3).</summary>
    public Dictionary<string, Dictionary<string, double>> RealData { get; init; } = new();
    /// <summary>Fig. 5 analogue: the phased student (1×) and the one whose high-SNR expert trained Fig5Multiplier× longer.</summary>
    public List<DemoEntry> Fig5 { get; init; } = new();
    public Dictionary<string, double> Fig5Layout { get; init; } = new();
    /// <summary>App. E.2 / Table 6 analogues at image scale.</summary>
    public List<DemoEntry> Ablations { get; init; } = new();
    public List<DemoClaim> Claims { get; set; } = new();
    public double Seconds { get; set; }
    public string Machine { get; init; } = $"{Environment.ProcessorCount} logical cores, {Environment.OSVersion}";
}
