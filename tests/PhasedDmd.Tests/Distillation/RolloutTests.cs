using PhasedDmd.Diffusion;
using PhasedDmd.Distillation;
using PhasedDmd.Generators;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Distillation;

/// <summary>The rollout to a phase boundary on its own: the exit-step draw and where the gradient comes from.</summary>
[Collection(SerialCollection.Name)]
public class RolloutTests
{
    /// <summary>A 6-step, 2-phase student of an untrained MLP (its weights only have to be fixed, not good).</summary>
    private static StudentGenerator Student(int seed = 3)
    {
        torch.manual_seed(seed);
        using var teacher = new MlpSpec(2, Hidden: 16, Layers: 3).Build();
        return StudentGenerator.FromTeacher(teacher, new StudentSpec(PhaseLayout.Even(6, 2)), FlowMatchingSchedule.Instance);
    }

    [Fact]
    public void Exit_steps_are_uniform_over_the_phases_steps()
    {
        var layout = PhaseLayout.Even(6, 2);   // phase 2 owns steps 3, 4 and 5
        using var rng = Runtime.NewGenerator(11);
        const int draws = 3000;
        var counts = new int[6];
        for (var i = 0; i < draws; i++) counts[Rollout.DrawExitStep(layout, 2, rng)]++;
        Assert.Equal(0, counts[0] + counts[1] + counts[2]);
        // Pearson's χ² against U{3, 4, 5}: 2 degrees of freedom, 13.8 is the 0.1% critical value.
        var expected = draws / 3.0;
        var chi2 = counts[3..].Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 13.8, $"χ² = {chi2:F2} for counts {string.Join(", ", counts[3..])}");
        // The test can fail: a draw that never picks the last step is far outside the bound.
        var biased = new[] { draws / 2.0, draws / 2.0, 0 }.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(biased > 13.8);
    }

    [Fact]
    public void Sgts_gradient_reaches_the_expert_through_the_exit_step_alone()
    {
        using var student = Student();
        foreach (var p in student.parameters()) p.requires_grad_(true);
        using var noise = torch.randn([64, 2], generator: Runtime.NewGenerator(5));
        var expert = student.Expert(2);
        var s = student.Layout.BoundaryTime(2);

        // The rollout: gradient of Σ x_s with respect to expert 2.
        using var rng = Runtime.NewGenerator(7);
        var rollout = new Rollout(student, Truncation.Sgts).ToBoundary(2, noise, null, withGradient: true, rng);
        var exit = rollout.ExitStep;
        var viaRollout = Gradients(expert, rollout.Xs.sum());
        Assert.All(student.Expert(1).parameters(), p => Assert.True(p.grad is null || TestUtil.Scalar(p.grad.abs().max()) == 0));

        // The same gradient by hand: one Euler step x_j + (s − t_j) v(x_j, t_j) from the detached state x_j.
        Tensor xj;
        using (torch.no_grad()) xj = student.Run(noise, 0, exit, null);
        var tj = student.Layout.Times[exit];
        var oneStep = xj + (s - tj) * expert.Forward(xj, torch.full(64, tj), null);
        var byHand = Gradients(expert, oneStep.sum());
        Assert.All(viaRollout.Zip(byHand), g => Assert.True(TestUtil.MaxAbs(g.First, g.Second) < 1e-5));

        // Backpropagating through every step of the phase gives another gradient (so the check can fail).
        using var rng2 = Runtime.NewGenerator(7);
        var full = new Rollout(student, Truncation.Full).ToBoundary(2, noise, null, withGradient: true, rng2);
        var viaFull = Gradients(expert, full.Xs.sum());
        Assert.Contains(viaFull.Zip(byHand), g => TestUtil.MaxAbs(g.First, g.Second) > 1e-4);
    }

    [Fact]
    public void Without_gradient_the_boundary_sample_records_no_graph()
    {
        using var student = Student();
        foreach (var p in student.parameters()) p.requires_grad_(true);
        using var rng = Runtime.NewGenerator(1);
        var r = new Rollout(student, Truncation.Sgts).ToBoundary(1, torch.randn(8, 2), null, withGradient: false, rng);
        Assert.False(r.Xs.requires_grad);
        Assert.InRange(r.ExitStep, 0, 2);
    }

    private static List<Tensor> Gradients(nn.Module module, Tensor output)
    {
        var parameters = module.parameters().Cast<Tensor>().ToList();
        return torch.autograd.grad([output], parameters, allow_unused: true).Select((g, i) => g ?? torch.zeros_like(parameters[i])).ToList();
    }
}
