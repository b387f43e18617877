namespace PhasedDmd.Data;

/// <summary>The true attributes of one clip: shape and direction (named by the prompt), speed and start (free).</summary>
public sealed record MotionAttributes(string Shape, string Direction, double Speed, double StartX, double StartY)
{
    /// <summary>Unit displacement of the direction in (x, y) pixel coordinates (y grows downwards).</summary>
    public (double Dx, double Dy) Unit => MotionTask.UnitOf(Direction);

    /// <summary>The shape's centre in frame f.</summary>
    public (double X, double Y) CentreAt(int frame) => (StartX + frame * Speed * Unit.Dx, StartY + frame * Speed * Unit.Dy);
}
