// Train a small teacher, run it forward, distil it with Phased DMD (4 steps, 2 phases) and sample
// the student: the library's whole path in a few lines. Usage: UseFromCSharp [new-work-dir] [updates-per-phase]
using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Sampling;
using PhasedDmd.Training;
using static TorchSharp.torch;

var work = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), $"phaseddmd-example-{DateTime.Now:yyyyMMdd-HHmmss}");   // a fresh run never overwrites a model
var updates = args.Length > 1 ? int.Parse(args[1]) : 200;

// 1. A teacher: a flow-matching MLP on the 8-mode ring (any model directory works, e.g. one from phased-dmd train-teacher).
var teacherDir = Path.Combine(work, "teacher");
TeacherTrainer.Train(new TeacherConfig { Task = "ring8", Hidden = 64, Layers = 3, Iterations = 10 * updates, BatchSize = 256 }, teacherDir);
var (card, teacher) = ModelDirectory.Load(teacherDir);

// 2. A forward pass: the teacher's velocity at noise level t = 0.5.
using (var scope = NewDisposeScope())
{
    var x = randn(4, 2);
    var v = teacher.Forward(x, full(4, 0.5f), condition: null);
    Console.WriteLine($"teacher velocity: shape [{string.Join(", ", v.shape)}], finite {v.isfinite().all().item<bool>()}");
}

// 3. Phased DMD: 4 sampling steps, 2 experts (one per SNR phase); the student is written as a model directory.
var studentDir = Path.Combine(work, "student");
var config = DistillationMethod.Phased.Shape(new DistillConfig { IterationsPerPhase = updates, BatchSize = 256 }, steps: 4, phases: 2);
var student = new Distiller(config, card, teacher).Run(studentDir);
Console.WriteLine($"student ({student.Role}): {config.Steps} steps, {config.Phases} experts, in {studentDir}");

// 4. Sample the student: 4 network evaluations per sample instead of the teacher's 40.
using var model = LoadedModel.Load(studentDir);
using var samples = ModelSampling.Sample(model, new SampleOptions(N: 1000, Seed: 1));
Console.WriteLine($"student samples: shape [{string.Join(", ", samples.shape)}], mean radius {samples.norm(1).mean().item<float>():F3}");
