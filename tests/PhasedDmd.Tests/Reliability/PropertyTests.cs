using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;
using PhasedDmd.Data;
using PhasedDmd.Distillation;
using PhasedDmd.IO;
using PhasedDmd.Training;

namespace PhasedDmd.Tests.Reliability;

/// <summary>
/// Random and malformed configs and mixture files: loading and validating either succeeds or
/// fails with an <see cref="InputException"/> (one line, exit code 2 at the CLI) — never
/// anything else.
/// </summary>
public class PropertyTests
{
    private static readonly JsonNode?[] OddValues =
    [
        null, "", "abc", "phased", "nested", "lora", -1, 0, 1, 2, 3, 7, 1e308, -1e-9, 0.5, 1e-30, 2147483648L, true,
        new JsonArray(), new JsonObject(), new JsonArray(1, "x"), new JsonArray(0.5), new JsonArray(0.75, 0.25), "NaN", "Infinity",
    ];

    /// <summary>A valid JSON document with a random number of random edits: replace, delete, add, or truncate.</summary>
    private static Gen<string> Mutations(string valid) =>
        from edits in Gen.ListOf(Gen.Choose(0, 1000).Zip(Gen.Elements(OddValues.Select((_, i) => i).ToArray())).Zip(Gen.Choose(0, 3)))
        from cut in Gen.Choose(0, 12)
        select Apply(valid, edits.Select(e => (Key: e.Item1.Item1, Value: e.Item1.Item2, Kind: e.Item2)).ToList(), cut);

    private static string Apply(string valid, List<(int Key, int Value, int Kind)> edits, int cut)
    {
        var obj = JsonNode.Parse(valid)!.AsObject();
        foreach (var (key, value, kind) in edits.Take(6))
        {
            var keys = obj.Select(kv => kv.Key).ToList();
            var name = keys.Count == 0 ? "extra" : keys[key % keys.Count];
            var v = OddValues[value]?.DeepClone();
            switch (kind)
            {
                case 0: obj[name] = v; break;
                case 1: obj.Remove(name); break;
                case 2: obj[$"unknown{key}"] = v; break;
                default:
                    if (obj[name] is JsonArray a) a.Add(v);
                    else obj[name] = v;
                    break;
            }
        }
        var text = obj.ToJsonString();
        return cut == 0 ? text[..(text.Length * 2 / 3)] : text;     // sometimes truncated
    }

    private static bool FailsCleanlyOrPasses(Action action)
    {
        try { action(); return true; }
        catch (InputException e) { return !e.Message.Contains('\n'); }
    }

    [Property(MaxTest = 300)]
    public Property Distillation_configs_validate_or_fail_cleanly()
        => Prop.ForAll(Mutations(Json.Serialize(new DistillConfig())).ToArbitrary(),
            text => FailsCleanlyOrPasses(() => Json.Parse<DistillConfig>(text, "config").Validate()));

    [Property(MaxTest = 300)]
    public Property Teacher_configs_validate_or_fail_cleanly()
        => Prop.ForAll(Mutations(Json.Serialize(new TeacherConfig())).ToArbitrary(),
            text => FailsCleanlyOrPasses(() => Json.Parse<TeacherConfig>(text, "config").Validate()));

    [Property(MaxTest = 300)]
    public Property Mixture_files_load_or_fail_cleanly()
        => Prop.ForAll(Mutations(MixtureTasks.Ring8().ToJson()).ToArbitrary(),
            text => FailsCleanlyOrPasses(() =>
            {
                var m = GaussianMixture.FromJson(text);
                Assert.All(m.Weights, w => Assert.True(w >= 0 && double.IsFinite(w)));
            }));

    [Property(MaxTest = 200)]
    public Property Arbitrary_text_never_crashes_the_parsers(string text)
        => (FailsCleanlyOrPasses(() => GaussianMixture.FromJson(text ?? ""))
            && FailsCleanlyOrPasses(() => Json.Parse<DistillConfig>(text ?? "", "config").Validate())).ToProperty();
}
