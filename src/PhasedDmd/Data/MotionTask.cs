using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Data;

/// <summary>
/// Miniature text-to-video: 8 grayscale frames of 16×16 in which a shape moves in a straight
/// line. The prompt <c>"square moving left"</c> names shape and direction; the speed (uniform
/// in [0.25, 1.25] pixels per frame, so up to 8.75 px over the clip) and the start position are
/// part of the data. Shapes are rendered with 8×8 supersampling so sub-pixel motion is visible.
/// </summary>
public sealed class MotionTask : IProceduralTask
{
    public const int Frames = 8;
    public const int Size = 16;
    public const double HalfSize = 2.5;            // shapes fit a 5×5 box around their centre
    public const double MinSpeed = 0.25, MaxSpeed = 1.25;
    public static readonly string[] Shapes = ["square", "circle", "triangle", "cross"];
    public static readonly string[] Directions = ["left", "right", "up", "down"];

    public string Name => "motion";
    public long[] SampleShape => [Frames, 1, Size, Size];
    public PromptVocabulary Vocabulary { get; } = new([.. Shapes, "moving", .. Directions], length: 3);

    /// <summary>All 16 shape × direction prompts.</summary>
    public IReadOnlyList<string> EvaluationPrompts { get; } =
        Shapes.SelectMany(s => Directions.Select(d => $"{s} moving {d}")).ToArray();
    public int EvaluationSeeds => 8;
    public bool SharesNoiseAcrossPrompts => true;

    public static string Prompt(MotionAttributes a) => $"{a.Shape} moving {a.Direction}";

    public static (double Dx, double Dy) UnitOf(string direction) => direction switch
    {
        "left" => (-1, 0),
        "right" => (1, 0),
        "up" => (0, -1),
        "down" => (0, 1),
        "still" => (0, 0),
        _ => throw new ArgumentException($"unknown direction '{direction}'"),
    };

    public static MotionAttributes[] SampleAttributes(int n, Generator generator)
    {
        var u = ProceduralTasks.Uniforms(n, 5, generator);
        var result = new MotionAttributes[n];
        for (var i = 0; i < n; i++)
        {
            var shape = Shapes[ProceduralTasks.Pick(u[5 * i], Shapes.Length)];
            var direction = Directions[ProceduralTasks.Pick(u[5 * i + 1], Directions.Length)];
            var speed = MinSpeed + (MaxSpeed - MinSpeed) * u[5 * i + 2];
            result[i] = Place(shape, direction, speed, u[5 * i + 3], u[5 * i + 4]);
        }
        return result;
    }

    /// <summary>
    /// A clip whose whole path stays inside the frame: <paramref name="ux"/>, <paramref name="uy"/> in [0, 1)
    /// place the start uniformly among the positions that allow it (along the motion) or anywhere (across it).
    /// </summary>
    public static MotionAttributes Place(string shape, string direction, double speed, float ux, float uy)
    {
        var travel = (Frames - 1) * speed;
        var (dx, dy) = UnitOf(direction);
        // Pixel x covers [x − ½, x + ½], so centres in [lo, hi] keep the shape inside the frame.
        const double lo = HalfSize - 0.5, hi = Size - 0.5 - HalfSize;
        double Along(float v, double d) => d > 0 ? lo + v * (hi - lo - travel) : hi - v * (hi - lo - travel);
        double Across(float v) => lo + v * (hi - lo);
        var x = dx != 0 ? Along(ux, dx) : Across(ux);
        var y = dy != 0 ? Along(uy, dy) : Across(uy);
        return new MotionAttributes(shape, direction, speed, x, y);
    }

    /// <summary>Whether the point (px, py), relative to the shape's centre, is inside the shape.</summary>
    public static bool Inside(string shape, double px, double py)
    {
        const double h = HalfSize;
        return shape switch
        {
            "square" => Math.Abs(px) <= h && Math.Abs(py) <= h,
            "circle" => px * px + py * py <= h * h,
            "triangle" => py <= h && py >= -h && Math.Abs(px) <= (py + h) / 2,      // apex up, base at the bottom
            "cross" => (Math.Abs(px) <= h / 3 && Math.Abs(py) <= h) || (Math.Abs(py) <= h / 3 && Math.Abs(px) <= h),
            _ => throw new ArgumentException($"unknown shape '{shape}'"),
        };
    }

    /// <summary>Renders one clip into <paramref name="pixels"/> (8 × 1 × 16 × 16, values in [−1, 1]: background −1, shape +1).</summary>
    public static void Render(MotionAttributes a, Span<float> pixels)
    {
        const int ss = 8;
        for (var f = 0; f < Frames; f++)
        {
            var (cx, cy) = a.CentreAt(f);
            for (var y = 0; y < Size; y++)
                for (var x = 0; x < Size; x++)
                {
                    var hits = 0;
                    for (var sy = 0; sy < ss; sy++)
                        for (var sx = 0; sx < ss; sx++)
                            if (Inside(a.Shape, x + (sx + 0.5) / ss - 0.5 - cx, y + (sy + 0.5) / ss - 0.5 - cy)) hits++;
                    pixels[(f * Size + y) * Size + x] = 2f * hits / (ss * ss) - 1f;
                }
        }
    }

    public static Tensor RenderBatch(IReadOnlyList<MotionAttributes> attributes)
    {
        var per = Frames * Size * Size;
        var data = new float[attributes.Count * per];
        for (var i = 0; i < attributes.Count; i++) Render(attributes[i], data.AsSpan(i * per, per));
        return torch.tensor(data, [attributes.Count, Frames, 1, Size, Size]);
    }

    public ProceduralBatch<MotionAttributes> Sample(int n, Generator generator)
    {
        var attributes = SampleAttributes(n, generator);
        var texts = attributes.Select(Prompt).ToArray();
        return new(RenderBatch(attributes), this.Encode(texts), attributes, texts);
    }

    public (Tensor Pixels, Tensor Prompts) SampleTraining(int n, Generator generator)
    {
        var b = Sample(n, generator);
        return (b.Pixels, b.Prompts);
    }

    public Tensor SamplePrompts(int n, Generator generator)
        => this.Encode(SampleAttributes(n, generator).Select(Prompt));
}
