using PhasedDmd.Data;
using PhasedDmd.Diffusion;
using PhasedDmd.IO;
using PhasedDmd.Models;
using PhasedDmd.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PhasedDmd.Tests.Models;

[Collection(SerialCollection.Name)]
public class DitTests
{
    private static DitSpec ImageSpec => new([3, 16, 16], Patch: 4, Width: 32, Depth: 2, Heads: 4, VocabularySize: new GlyphsTask().Vocabulary.Size, PromptLength: 4);
    private static DitSpec VideoSpec => new([8, 1, 16, 16], Patch: 4, TubeletFrames: 2, Width: 32, Depth: 2, Heads: 2, VocabularySize: new MotionTask().Vocabulary.Size, PromptLength: 3, LocalMixing: 3);

    /// <summary>Randomises every parameter (the zero-initialised adaLN and output layers included) so outputs depend on all inputs.</summary>
    private static DitVelocityModel Randomised(DitSpec spec, int seed = 0)
    {
        torch.manual_seed(seed);
        var model = (DitVelocityModel)spec.Build();
        using var _ = torch.no_grad();
        foreach (var p in model.parameters()) p.normal_(0, 0.2);
        return model;
    }

    [Fact]
    public void Patchify_and_unpatchify_are_inverse_and_tubelets_group_consecutive_frames()
    {
        foreach (var spec in new[] { ImageSpec, VideoSpec })
        {
            using var model = (DitVelocityModel)spec.Build();
            using var x = torch.randn([2, .. spec.DataShape]);
            using var tokens = model.Patchify(x);
            Assert.Equal(new[] { 2, spec.Tokens, spec.PatchDim }, tokens.shape);
            using var back = model.Unpatchify(tokens);
            Assert.Equal(0.0, TestUtil.MaxAbs(x, back));
        }
        // First video token = frames 0–1, rows 0–3, columns 0–3 of the clip.
        using var video = (DitVelocityModel)VideoSpec.Build();
        using var clip = torch.arange(8 * 16 * 16, dtype: ScalarType.Float32).reshape(1, 8, 1, 16, 16);
        using var first = video.Patchify(clip)[0, 0];
        using var expected = clip[0, TensorIndex.Slice(0, 2), 0, TensorIndex.Slice(0, 4), TensorIndex.Slice(0, 4)].reshape(-1);
        Assert.Equal(0.0, TestUtil.MaxAbs(first, expected));
    }

    [Fact]
    public void Every_token_gets_a_distinct_unit_scale_position()
    {
        foreach (var spec in new[] { ImageSpec, VideoSpec })
        {
            using var pos = DitVelocityModel.SinCosPositions(spec)[0];
            Assert.Equal(new[] { spec.Tokens, (long)spec.Width }, pos.shape);
            using var normalized = torch.nn.functional.normalize(pos, dim: 1);
            using var cos = normalized.matmul(normalized.T) - torch.eye(spec.Tokens);
            Assert.True(TestUtil.Scalar(cos.max()) < 0.99, "two tokens share a position");
            // each (sin, cos) pair has unit length: half the used width in squared norm per token
            var axes = spec.IsVideo ? 3 : 2;
            Assert.Equal(axes * (spec.Width / axes / 2), TestUtil.Scalar(pos.square().sum(dim: 1).mean()), 4);
        }
    }

    [Fact]
    public void Output_has_the_data_shape_and_starts_at_zero_velocity()
    {
        foreach (var spec in new[] { ImageSpec, VideoSpec })
        {
            using var model = spec.Build();
            using var x = torch.randn([3, .. spec.DataShape]);
            using var t = torch.rand(3);
            using var prompts = torch.randint(1, spec.VocabularySize, [3, spec.PromptLength]);
            using var v = model.Forward(x, t, prompts);
            Assert.Equal(x.shape, v.shape);
            Assert.Equal(0.0, TestUtil.Scalar(v.abs().max()));   // adaLN-Zero initialisation
        }
    }

    [Fact]
    public void The_prompt_conditions_the_output_and_word_order_matters()
    {
        var task = new GlyphsTask();
        using var model = Randomised(ImageSpec);
        using var x = torch.randn([1, 3, 16, 16]);
        using var t = torch.full(1, 0.5f);
        Tensor V(string prompt) => model.Forward(x, t, task.Encode([prompt]));
        using var a = V("red 7 on blue");
        using var swapped = V("blue 7 on red");
        using var other = V("red 8 on blue");
        using var nul = model.Forward(x, t, model.NullCondition(task.Encode(["red 7 on blue"])));
        using var none = model.Forward(x, t, null);
        Assert.True(TestUtil.MaxAbs(a, swapped) > 1e-3);
        Assert.True(TestUtil.MaxAbs(a, other) > 1e-3);
        Assert.True(TestUtil.MaxAbs(a, nul) > 1e-3);
        Assert.Equal(0.0, TestUtil.MaxAbs(nul, none));   // no condition = the null prompt (all padding)
        Assert.Equal(0.0, TestUtil.Scalar(model.NullCondition(task.Encode(["red 7 on blue"])).abs().sum()));
    }

    [Fact]
    public void Classifier_free_guidance_is_the_linear_combination_of_two_passes()
    {
        using var model = Randomised(VideoSpec, seed: 1);
        var task = new MotionTask();
        using var x = torch.randn([2, 8, 1, 16, 16]);
        using var t = torch.tensor(new[] { 0.3f, 0.8f });
        using var prompts = task.Encode(["square moving left", "circle moving up"]);
        using var vc = model.Forward(x, t, prompts);
        using var vu = model.Forward(x, t, model.NullCondition(prompts));
        using var guided = model.GuidedVelocity(x, t, prompts, 3.0);
        using var expected = vu + 3.0 * (vc - vu);
        Assert.True(TestUtil.MaxAbs(guided, expected) < 1e-4);
        using var one = model.GuidedVelocity(x, t, prompts, 1.0);
        Assert.True(TestUtil.MaxAbs(one, vc) < 1e-6);
    }

    [Fact]
    public void Local_mixing_reaches_only_the_kernel_neighbourhood_within_the_same_frame_group()
    {
        torch.manual_seed(4);
        using var block = new DitBlock(width: 8, heads: 2, mlpRatio: 1, localMixing: 3, grid: (2, 4, 4));
        using var _ = torch.no_grad();
        foreach (var p in block.parameters()) p.normal_(0, 0.5);
        using var x = torch.randn([1, 32, 8]);
        using var bumped = x.clone();
        var token = 0 * 16 + 1 * 4 + 1;                                   // frame group 0, row 1, column 1
        bumped[0, token] += 1.0;
        using var change = (block.LocalMix(bumped) - block.LocalMix(x)).abs().sum(-1).squeeze(0);
        var changed = change.data<float>().ToArray();
        for (var i = 0; i < 32; i++)
        {
            int f = i / 16, r = i % 16 / 4, c = i % 4;
            var inside = f == 0 && Math.Abs(r - 1) <= 1 && Math.Abs(c - 1) <= 1;
            Assert.True(inside ? changed[i] > 1e-4 : changed[i] == 0, $"token {i} (f {f}, r {r}, c {c}) changed by {changed[i]}");
        }
    }

    [Fact]
    public void Samples_in_a_batch_do_not_interact()
    {
        using var model = Randomised(ImageSpec, seed: 2);
        using var x = torch.randn([4, 3, 16, 16]);
        using var t = torch.rand(4);
        using var prompts = torch.randint(1, ImageSpec.VocabularySize, [4, 4]);
        using var all = model.Forward(x, t, prompts);
        using var single = model.Forward(x[TensorIndex.Slice(2, 3)], t[TensorIndex.Slice(2, 3)], prompts[TensorIndex.Slice(2, 3)]);
        Assert.True(TestUtil.MaxAbs(all[TensorIndex.Slice(2, 3)], single) < 1e-5);
    }

    [Fact]
    public void A_dit_model_directory_round_trips_exactly_and_has_lora_targets()
    {
        var spec = VideoSpec with { PromptTokens = true, DataStd = 0.5 };
        using var model = Randomised(spec, seed: 3);
        var dir = TestUtil.TempDir();
        var card = new ModelCard { Task = new TaskSpec("motion"), Network = spec, Sampling = new SamplingDefaults(40, "euler", 3.0) };
        ModelDirectory.Save(dir, card, model);
        var (loadedCard, loaded) = ModelDirectory.Load(dir);
        using (loaded)
        {
            Assert.Equal(spec.DataShape, ((DitSpec)loadedCard.Network).DataShape);
            Assert.True(((DitSpec)loadedCard.Network).PromptTokens);
            Assert.Equal(0.5, ((DitSpec)loadedCard.Network).DataStd);
            Assert.Equal(3.0, loadedCard.Sampling.Cfg);
            using var x = torch.randn([2, 8, 1, 16, 16]);
            using var t = torch.rand(2);
            using var p = torch.randint(1, VideoSpec.VocabularySize, [2, 3]);
            Assert.Equal(0.0, TestUtil.MaxAbs(model.Forward(x, t, p), loaded.Forward(x, t, p)));
        }
        // every projection of every block can carry an adapter
        Assert.True(model.AdaptableLayers().Count() >= 5 * VideoSpec.Depth);
    }

    [Fact]
    public void Preconditioning_starts_at_the_best_linear_predictor_of_the_velocity()
    {
        // Untrained, the network part is zero, so the model outputs a(t)·x_t. The truth it is checked
        // against: the least-squares coefficient of v = ε − x_0 on x_t = (1−t) x_0 + t ε, measured on
        // Gaussian data of the spec's standard deviation, and the residual's standard deviation (c_out).
        const double sd = 0.7;
        using var model = (DitVelocityModel)(ImageSpec with { DataStd = sd }).Build();
        var g = Runtime.NewGenerator(5);
        using var x0 = randn([512, 3, 16, 16], generator: g) * sd;
        using var eps = randn([512, 3, 16, 16], generator: g);
        foreach (var time in new[] { 0.0, 0.2, 0.5, 0.9, 1.0 })
        {
            using var scope = NewDisposeScope();
            var t = full(512, (float)time);
            var xt = (1 - time) * x0 + time * eps;
            var v = eps - x0;
            var fitted = (v * xt).sum() / xt.square().sum();
            var output = model.Forward(xt, t, null);
            var ratio = output / xt;
            Assert.True(TestUtil.Scalar((ratio - fitted).abs().max()) < 0.01, $"t = {time}: skip {TestUtil.Scalar(ratio.mean())}, fitted {TestUtil.Scalar(fitted)}");
            var (_, cOut, cIn) = model.Preconditioning(t, 4);
            var residual = TestUtil.Scalar((v - output).std());
            var predicted = TestUtil.Scalar(cOut![0]);
            Assert.True(Math.Abs(residual / predicted - 1) < 0.01, $"t = {time}: residual std {residual}, c_out {predicted}");
            var inputStd = TestUtil.Scalar((cIn! * xt).std());
            Assert.True(Math.Abs(inputStd - 1) < 0.01, $"t = {time}: the network's input std {inputStd}");   // unit-variance inputs
        }
        // the ends, exactly: at t = 1 the skip is the identity (v ≈ x_t − x̂_0), at t = 0 its negative
        using var x = randn([2, 3, 16, 16]);
        Assert.True(TestUtil.MaxAbs(model.Forward(x, ones(2), null), x) < 1e-6);
        Assert.True(TestUtil.MaxAbs(model.Forward(x, zeros(2), null), -x) < 1e-6);
    }

    [Fact]
    public void Prompt_tokens_condition_through_attention_alone()
    {
        // With the pooled prompt path cut (its projections zeroed), only in-context prompt tokens can
        // carry the prompt to the output.
        var task = new GlyphsTask();
        using var x = torch.randn([2, 3, 16, 16]);
        using var t = torch.full(2, 0.5f);
        foreach (var tokens in new[] { false, true })
        {
            using var model = Randomised(ImageSpec with { PromptTokens = tokens, LocalMixing = 3 }, seed: 6);
            using (torch.no_grad())
                foreach (var (name, p) in model.named_parameters())
                    if (name.StartsWith("text_proj.") || name.StartsWith("text_out.")) p.zero_();
            using var a = model.Forward(x, t, task.Encode(["red 7 on blue", "red 7 on blue"]));
            using var b = model.Forward(x, t, task.Encode(["red 8 on blue", "red 7 on blue"]));
            Assert.Equal(x.shape, a.shape);
            Assert.Equal(tokens, TestUtil.MaxAbs(a[0], b[0]) > 1e-3);
            Assert.True(TestUtil.MaxAbs(a[1], b[1]) < 1e-5);   // samples of a batch still do not interact
        }
    }

    [Theory]
    [InlineData(5, 2, "patch 5 must divide")]
    [InlineData(4, 3, "tubeletFrames 3 must divide")]
    public void Impossible_sizes_are_input_errors(int patch, int tubelet, string message)
    {
        var e = Assert.Throws<InputException>(() => (VideoSpec with { Patch = patch, TubeletFrames = tubelet }).Build());
        Assert.Contains(message, e.Message);
    }
    [Fact]
    public void The_glyphs_teacher_architecture_memorises_a_small_set_and_samples_it_back()
    {
        // End to end through the real pieces: the default glyphs DiT, the flow-matching loss, the
        // prompt encoder and the Euler sampler. Trained on 8 fixed images (one per character), it must
        // draw each prompt's character from fresh noise. If it could not, the failure of the full
        // task would be a bug, not a matter of budget. It passes in 600 iterations (character
        // accuracy 1.0, measured); the full task does not.
        manual_seed(0);
        var config = TeacherConfig.ForTask("glyphs");
        using var model = config.Definition.OpenTeacherData(config).Spec.Build();
        using var g = Runtime.NewGenerator(1);
        const int n = 8;
        var attrs = GlyphsTask.SampleAttributes(n, g, BitmapFont.Characters.Take(n).Select(c => (c, "white", "black")).ToList());
        using var x0 = GlyphsTask.RenderBatch(attrs);
        using var prompts = new GlyphsTask().Encode(attrs.Select(GlyphsTask.Prompt));
        var schedule = NoiseSchedule.FromName("flow");
        var sampler = TimestepSampler.Full(1.0, config.TMin);
        using var optimizer = optim.AdamW(model.parameters(), 1e-3);
        for (var it = 0; it < 600; it++)
        {
            using var scope = NewDisposeScope();
            var t = sampler.Sample(n, g);
            var eps = randn(x0.shape, generator: g);
            var tb = t.reshape(n, 1, 1, 1);
            var loss = nn.functional.mse_loss(model.Forward(Parameterization.Noise(schedule, x0, eps, tb), t, prompts),
                                              Parameterization.VelocityTarget(schedule, x0, eps, tb));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            Runtime.ReleaseFinalizableNativeObjects();
        }
        using var noise = randn(x0.shape, generator: g);
        using var samples = PhasedDmd.Sampling.OdeSolvers.Integrate(model, noise, Enumerable.Range(0, 41).Select(i => 1.0 - i / 40.0).ToArray(), prompts);
        var (character, colours, _, _) = PhasedDmd.Evaluation.GlyphReader.Accuracy(samples.data<float>().ToArray(),
            attrs.Select(a => (a.Character, a.Foreground, a.Background)).ToList());
        Assert.True(character >= 7.0 / 8, $"character accuracy {character}");
        Assert.Equal(1.0, colours);
    }
}
