using static TorchSharp.torch;

namespace PhasedDmd.Data;

/// <summary>
/// Miniature text-to-video in which the prompt leaves the motion free: <c>"square horizontal"</c> names
/// the shape and an axis only. A quarter of the clips are still; the rest move along the axis in either
/// direction (each half of them) at a speed uniform in [0.25, 1.25] px/frame. Why collapse costs
/// motion here: the motions of a prompt cancel on average (the velocity has mean zero), so a generator
/// that averages over them renders a blurred, symmetric clip with almost no flow, as a real video model
/// does, instead of an averaged but still moving one (the pixel-wise mean of a prompt's clips has a
/// mean optical flow under a tenth of the clips' own, a test). Frames, size and shapes are
/// <see cref="MotionTask"/>'s.
/// </summary>
public sealed class FreeMotionTask : IProceduralTask
{
    public const double StillShare = 0.25;
    public static readonly string[] Axes = ["horizontal", "vertical"];

    public string Name => "motion-free";
    public long[] SampleShape => [MotionTask.Frames, 1, MotionTask.Size, MotionTask.Size];
    public PromptVocabulary Vocabulary { get; } = new([.. MotionTask.Shapes, .. Axes], length: 2);

    /// <summary>All 8 shape × axis prompts.</summary>
    public IReadOnlyList<string> EvaluationPrompts { get; } =
        MotionTask.Shapes.SelectMany(s => Axes.Select(a => $"{s} {a}")).ToArray();
    /// <summary>32: the 8 prompts leave the motion free, and the shares of still and moving clips need 256 clips to be known within about 0.03.</summary>
    public int EvaluationSeeds => 32;
    /// <summary>No: whether a clip moves, and which way, follows the noise, so every clip gets its own.</summary>
    public bool SharesNoiseAcrossPrompts => false;

    /// <summary>The directions along an axis: (negative, positive) in image coordinates.</summary>
    public static (string Negative, string Positive) DirectionsOf(string axis) => axis switch
    {
        "horizontal" => ("left", "right"),
        "vertical" => ("up", "down"),
        _ => throw new ArgumentException($"unknown axis '{axis}'"),
    };

    public static string AxisOf(string direction) => direction switch
    {
        "left" or "right" => "horizontal",
        "up" or "down" => "vertical",
        _ => throw new ArgumentException($"direction '{direction}' has no axis"),
    };

    /// <summary>The prompt of a clip; its axis is carried by <paramref name="axis"/>, since a still clip has none of its own.</summary>
    public static string Prompt(string shape, string axis) => $"{shape} {axis}";

    /// <summary>n clips: shape and axis uniform, then still (share 1/4) or moving either way along the axis.</summary>
    public static (MotionAttributes Clip, string Axis)[] SampleAttributes(int n, Generator generator)
    {
        var u = ProceduralTasks.Uniforms(n, 6, generator);
        var result = new (MotionAttributes, string)[n];
        for (var i = 0; i < n; i++)
        {
            var shape = MotionTask.Shapes[ProceduralTasks.Pick(u[6 * i], MotionTask.Shapes.Length)];
            var axis = Axes[ProceduralTasks.Pick(u[6 * i + 1], Axes.Length)];
            var (negative, positive) = DirectionsOf(axis);
            var m = u[6 * i + 2];
            var direction = m < StillShare ? "still" : m < StillShare + (1 - StillShare) / 2 ? negative : positive;
            var speed = direction == "still" ? 0 : MotionTask.MinSpeed + (MotionTask.MaxSpeed - MotionTask.MinSpeed) * u[6 * i + 3];
            result[i] = (MotionTask.Place(shape, direction, speed, u[6 * i + 4], u[6 * i + 5]), axis);
        }
        return result;
    }

    /// <summary>n real clips of one prompt (its shape and axis), still or moving as the data are.</summary>
    public static MotionAttributes[] SampleFor(string prompt, int n, Generator generator)
    {
        var words = prompt.Split(' ');
        if (words.Length != 2 || !MotionTask.Shapes.Contains(words[0]) || !Axes.Contains(words[1]))
            throw new InputException($"prompt: '{prompt}' is not a motion-free prompt (shape and axis, e.g. 'square horizontal')");
        var (negative, positive) = DirectionsOf(words[1]);
        var u = ProceduralTasks.Uniforms(n, 4, generator);
        return [.. Enumerable.Range(0, n).Select(i =>
        {
            var m = u[4 * i];
            var direction = m < StillShare ? "still" : m < StillShare + (1 - StillShare) / 2 ? negative : positive;
            var speed = direction == "still" ? 0 : MotionTask.MinSpeed + (MotionTask.MaxSpeed - MotionTask.MinSpeed) * u[4 * i + 1];
            return MotionTask.Place(words[0], direction, speed, u[4 * i + 2], u[4 * i + 3]);
        })];
    }

    public ProceduralBatch<MotionAttributes> Sample(int n, Generator generator)
    {
        var drawn = SampleAttributes(n, generator);
        var attributes = drawn.Select(d => d.Clip).ToArray();
        var texts = drawn.Select(d => Prompt(d.Clip.Shape, d.Axis)).ToArray();
        return new(MotionTask.RenderBatch(attributes), this.Encode(texts), attributes, texts);
    }

    public (Tensor Pixels, Tensor Prompts) SampleTraining(int n, Generator generator)
    {
        var b = Sample(n, generator);
        return (b.Pixels, b.Prompts);
    }

    public Tensor SamplePrompts(int n, Generator generator)
        => this.Encode(SampleAttributes(n, generator).Select(d => Prompt(d.Clip.Shape, d.Axis)));
}
