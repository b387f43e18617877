namespace PhasedDmd.Evaluation;

/// <summary>Settings of <see cref="OpticalFlow.LucasKanade"/>.</summary>
/// <param name="Levels">
/// Pyramid levels (each halves the resolution and doubles the displacement range). The default is 1:
/// at 16×16 the 8×8 level blurs the task's shapes until its guess hurts more than it helps. Measured
/// on the task's clips at 0.25–1.25 px/frame: worst speed error 7.3% with 1 level, 26% with 2.
/// Smoothing and Newton iterations already capture about 2 px.
/// </param>
/// <param name="WindowRadius">The window is (2r + 1)² pixels around each pixel.</param>
/// <param name="Iterations">Newton iterations per level.</param>
/// <param name="MinEigenvalue">
/// Trackability threshold: the smaller eigenvalue of the window's structure tensor, divided by the
/// window area, in (intensity units per pixel)². Frames in [−1, 1] have edge gradients near 1.
/// </param>
/// <param name="Smooth">Pre-smooth both frames with a 5-tap binomial filter (σ = 1 px). LK linearises the image, and sharp 1-px edges otherwise bias it.</param>
public sealed record FlowOptions(int Levels = 1, int WindowRadius = 2, int Iterations = 8, double MinEigenvalue = 0.01, bool Smooth = true);
