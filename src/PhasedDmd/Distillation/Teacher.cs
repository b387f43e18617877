using PhasedDmd.Diffusion;
using PhasedDmd.IO;
using PhasedDmd.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Distillation;

/// <summary>
/// The teacher T of the paper: a frozen velocity model, queried with classifier-free guidance
/// (method.md §2; the guided velocity is what the student's distribution is matched to).
/// </summary>
public sealed class Teacher
{
    public ModelCard Card { get; }
    public VelocityModel Network { get; }
    public NoiseSchedule Schedule { get; }
    /// <summary>The guidance scale w of v_cfg = v(∅) + w (v(c) − v(∅)); 1 = no guidance.</summary>
    public double Guidance { get; }

    /// <summary>
    /// Moves <paramref name="network"/> to <paramref name="device"/>, converts it to <paramref name="dtype"/> (default float32: as it is)
    /// and freezes it (no parameter records gradient). Experts and fake scores built from it take its <see cref="VelocityModel.ComputeType"/>.
    /// </summary>
    public Teacher(ModelCard card, VelocityModel network, double guidance, Device device, ScalarType dtype = ScalarType.Float32)
    {
        Card = card;
        Network = network;
        Schedule = NoiseSchedule.FromName(card.Schedule);
        Guidance = guidance;
        network.to(device).eval();
        network.ToPrecision(dtype);
        foreach (var p in network.parameters()) p.requires_grad_(false);
    }

    /// <summary>Shape of one sample.</summary>
    public long[] SampleShape => Card.Network.SampleShape;

    /// <summary>The guided velocity T(x_t, t, c).</summary>
    public Tensor Velocity(Tensor xt, Tensor t, Tensor? condition) => Network.GuidedVelocity(xt, t, condition, Guidance);

    /// <summary>The guided prediction in the network's own kind (<see cref="VelocityModel.Prediction"/>).</summary>
    public Tensor Predict(Tensor xt, Tensor t, Tensor? condition) => Network.GuidedPrediction(xt, t, condition, Guidance);
}
