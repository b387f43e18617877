using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Models;

/// <summary>
/// A network predicting the probability-flow velocity v(x_t, t, c). Every distillation
/// method, sampler and checkpoint works through this interface. The condition is
/// model-specific (class labels, prompt token ids) or null for unconditional models.
/// </summary>
public abstract class VelocityModel : nn.Module
{
    protected VelocityModel(string name) : base(name) { }

    /// <summary>x: [B, ...data shape], t: [B] in [0, 1], condition: [B, ...] or null.</summary>
    public abstract Tensor Forward(Tensor x, Tensor t, Tensor? condition);

    /// <summary>Whether the model takes a condition (and so supports classifier-free guidance).</summary>
    public abstract bool IsConditional { get; }

    /// <summary>The "empty prompt" ∅ for a batch of conditions, used by CFG and prompt dropout.</summary>
    public virtual Tensor NullCondition(Tensor condition)
        => throw new InvalidOperationException($"{GetType().Name} is unconditional: it has no null condition");

    /// <summary>The architecture description that rebuilds this model (saved beside its weights).</summary>
    public abstract ModelSpec Spec { get; }

    /// <summary>
    /// What the network itself outputs (method.md §4.5): the velocity for the project's own networks; an
    /// imported network's own kind (x_0, ε, v-prediction), so that its losses can be computed where they
    /// are well conditioned for it.
    /// </summary>
    public virtual Diffusion.Prediction Prediction => Diffusion.Prediction.Velocity;

    /// <summary>
    /// The network's own prediction (of kind <see cref="Prediction"/>) at x_t, evaluated at
    /// <see cref="Diffusion.Predictions.SafeTime"/>; for velocity networks it is <see cref="Forward"/>.
    /// </summary>
    public virtual Tensor Predict(Tensor x, Tensor t, Tensor? condition) => Forward(x, t, condition);

    /// <summary>
    /// Velocity with classifier-free guidance; the conditional and unconditional passes run
    /// as one batch. Scale 1 (or no condition) is a single plain pass.
    /// </summary>
    public Tensor GuidedVelocity(Tensor x, Tensor t, Tensor? condition, double scale) => Guided(Forward, x, t, condition, scale);

    /// <summary>
    /// The network's own prediction with classifier-free guidance. Every prediction is an affine map of the
    /// velocity with coefficients that depend on (x_t, t) only, so guiding it equals guiding the velocity.
    /// </summary>
    public Tensor GuidedPrediction(Tensor x, Tensor t, Tensor? condition, double scale) => Guided(Predict, x, t, condition, scale);

    private Tensor Guided(Func<Tensor, Tensor, Tensor?, Tensor> output, Tensor x, Tensor t, Tensor? condition, double scale)
    {
        if (condition is null || !IsConditional || scale == 1.0) return output(x, t, condition);
        using var scope = torch.NewDisposeScope();
        var both = output(torch.cat([x, x]), torch.cat([t, t]), torch.cat([condition, NullCondition(condition)]));
        var parts = both.chunk(2);
        return Diffusion.Guidance.Combine(parts[1], parts[0], scale).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The floating-point type the network holds its weights in and computes in (<see cref="ToPrecision"/>); float32 unless converted.
    /// Whatever it is, <see cref="Forward"/> and <see cref="Predict"/> take and return the caller's float32 tensors: the network casts
    /// its inputs to this type and its output back.
    /// </summary>
    public ScalarType ComputeType { get; private set; } = ScalarType.Float32;

    /// <summary>
    /// Converts the network's floating-point parameters and buffers to <paramref name="dtype"/> and computes in it from now on. Call
    /// it right after building the network, before anything holds its parameters (a native module's parameters are replaced).
    /// </summary>
    public VelocityModel ToPrecision(ScalarType dtype)
    {
        if (dtype == ComputeType) return this;
        this.to(dtype);
        ComputeType = dtype;
        return this;
    }

    /// <summary>A floating-point input in <see cref="ComputeType"/> (index tensors as they are).</summary>
    protected Tensor In(Tensor input) => input.is_floating_point() && input.dtype != ComputeType ? input.to(ComputeType) : input;

    /// <summary>The network's output in the caller's type <paramref name="like"/>.</summary>
    protected static Tensor Out(Tensor output, Tensor like) => output.dtype == like.dtype ? output : output.to(like.dtype);

    /// <summary>What this wrapper puts before the parameter names of the network its author wrote (a script's <c>net.</c>).</summary>
    public virtual string AuthorPrefix => "";

    /// <summary>Linear layers that can carry LoRA adapters, by their module path.</summary>
    public IEnumerable<(string Name, LoraLinear Layer)> AdaptableLayers()
        => named_modules().Where(m => m.module is LoraLinear).Select(m => (m.name, (LoraLinear)m.module));
}
