using System.Diagnostics;
using System.Text.RegularExpressions;
using PhasedDmd.IO;
using PhasedDmd.Tests.Interop;
using Xunit;

namespace PhasedDmd.Tests.Docs;

/// <summary>
/// docs/prepare-pytorch.md's wrapper, as written on the page, scripted in Debian's PyTorch around a small stand-in for a
/// diffusers transformer (keyword arguments, several conditioning inputs, a tuple out, bf16 weights), saved with its
/// packed conditions, and imported.
/// </summary>
public class PreparePyTorchTests
{
    /// <summary>A module with a diffusers transformer's call: keyword inputs, return_dict=False gives a tuple.</summary>
    private const string StandIn = """

        class StandIn(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.x = torch.nn.Conv2d(2, 2, 1)
                self.text = torch.nn.Linear(4, 2)
                self.pooled = torch.nn.Linear(5, 2)

            def forward(self, hidden_states: torch.Tensor, timestep: torch.Tensor, encoder_hidden_states: torch.Tensor,
                        pooled_projections: torch.Tensor, encoder_attention_mask: torch.Tensor, return_dict: bool = True):
                m = encoder_attention_mask.to(encoder_hidden_states.dtype).unsqueeze(-1)
                text = (self.text(encoder_hidden_states) * m).sum(1) / m.sum(1).clamp_min(1)
                c = (text + self.pooled(pooled_projections) + timestep.unsqueeze(-1))[:, :, None, None]
                return (self.x(hidden_states) + c,)


        import json, struct, sys
        torch.manual_seed(0)
        teacher = PhasedDmdTeacher(StandIn(), text_len=3, text_dim=4, pooled_dim=5, dtype=torch.bfloat16)
        scripted = torch.jit.script(teacher)
        scripted.save(sys.argv[1] + "/teacher.pt")
        rows = pack(torch.randn(2, 3, 4), torch.randn(2, 5), torch.tensor([[1, 1, 0], [1, 0, 0]]))
        null = pack(torch.zeros(1, 3, 4), torch.zeros(1, 5), torch.tensor([[1, 0, 0]]))
        x, t = torch.randn(2, 2, 4, 4), torch.tensor([0.3, 0.9])
        eager, out = teacher(x, t, rows), scripted(x, t, rows)
        assert out.dtype == torch.float32 and out.shape == x.shape, (out.dtype, out.shape)
        assert torch.equal(eager, out), (eager - out).abs().max()
        header, blobs, offset = {}, [], 0   # safetensors without the safetensors package
        for name, v in {"cond": rows, "null": null}.items():
            raw = v.contiguous().numpy().tobytes()
            header[name] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + len(raw)]}
            blobs.append(raw)
            offset += len(raw)
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        open(sys.argv[1] + "/conditions.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
        print("ok")
        """;

    [PythonTorchFact]
    public void The_page_s_wrapper_scripts_around_a_diffusers_style_module_and_imports()
    {
        var page = File.ReadAllText(Path.Combine(TestUtil.RepoRoot(), "docs", "prepare-pytorch.md"));
        var wrapper = Regex.Match(page, "```python\n(?<code>.*?)```", RegexOptions.Singleline).Groups["code"].Value;
        Assert.Contains("class PhasedDmdTeacher", wrapper);
        var dir = TestUtil.TempDir("pdmd-prepare");
        var script = Path.Combine(dir, "wrap.py");
        File.WriteAllText(script, wrapper + StandIn);
        var info = new ProcessStartInfo(PythonTorchFactAttribute.Python) { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(dir);
        info.Environment["OMP_NUM_THREADS"] = "1";
        using (var p = Process.Start(info)!)
        {
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, output + err.Result);
        }
        // the importer runs the module on a batch of 4 rows of the file (and its null row) and checks the output
        var card = TorchScriptImport.Import(new TorchScriptImportOptions
        {
            TorchScript = Path.Combine(dir, "teacher.pt"), Prediction = "velocity", TimeScale = 1000, SampleShape = [2, 4, 4],
            Conditions = Path.Combine(dir, "conditions.safetensors"), Cfg = 2,
        }, Path.Combine(dir, "teacher"));
        Assert.Equal([2L, 4, 4], card.Network.SampleShape);
        Assert.Equal(2.0, card.Sampling.Cfg);
    }
}
