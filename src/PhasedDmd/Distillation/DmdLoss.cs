namespace PhasedDmd.Distillation;

/// <summary>How the generator gradient is scaled (method.md §2 and §4.2 [choice]).</summary>
public enum DmdLoss
{
    /// <summary>The paper's analytic weight on the velocity difference, applied at the boundary sample x_s.</summary>
    Analytic,
    /// <summary>The DMD2 normaliser in x_0 space, applied at the student's x̂_0 (the authors' later trainer).</summary>
    Normalized,
}
