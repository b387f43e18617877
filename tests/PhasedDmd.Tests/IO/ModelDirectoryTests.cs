using PhasedDmd.Data;
using PhasedDmd.IO;
using PhasedDmd.Models;
using TorchSharp;
using Xunit;

namespace PhasedDmd.Tests.IO;

public class ModelDirectoryTests
{
    private static ModelCard Card(ModelSpec spec) => new()
    {
        Task = new TaskSpec("ring8", MixtureTasks.Ring8()),
        Network = spec,
    };

    [Fact]
    public void Save_then_load_round_trips_weights_and_card_exactly()
    {
        var dir = TestUtil.TempDir();
        var spec = new MlpSpec(DataDim: 2, Hidden: 24, Layers: 3, NumClasses: 8);
        using var model = spec.Build();
        ModelDirectory.Save(dir, Card(spec), model);
        var (card, loaded) = ModelDirectory.Load(dir);
        Assert.Equal(spec, card.Network);
        Assert.Equal(MixtureTasks.Ring8().Weights, card.Task.Mixture!.Weights);
        foreach (var ((name, a), (_, b)) in model.named_parameters().Zip(loaded.named_parameters()))
            Assert.True(TestUtil.MaxAbs(a, b) == 0, name);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void Weights_of_another_architecture_are_refused()
    {
        var dir = TestUtil.TempDir();
        using var small = new MlpSpec(DataDim: 2, Hidden: 16).Build();
        ModelDirectory.Save(dir, Card(new MlpSpec(DataDim: 2, Hidden: 32)), small);
        var e = Assert.Throws<InputException>(() => ModelDirectory.Load(dir));
        Assert.Contains("incompatible or corrupt weights", e.Message);
    }

    [Fact]
    public void A_truncated_weights_file_is_refused()
    {
        var dir = TestUtil.TempDir();
        var spec = new MlpSpec(DataDim: 2, Hidden: 16);
        using var model = spec.Build();
        ModelDirectory.Save(dir, Card(spec), model);
        var path = Path.Combine(dir, ModelDirectory.WeightsFile);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.Throws<InputException>(() => ModelDirectory.Load(dir));
    }

    [Fact]
    public void Missing_directory_and_malformed_card_are_input_errors()
    {
        Assert.Contains("not found", Assert.Throws<InputException>(() => ModelDirectory.Load(Path.Combine(TestUtil.TempDir(), "nope"))).Message);
        var dir = TestUtil.TempDir();
        File.WriteAllText(Path.Combine(dir, ModelDirectory.CardFile), "{ not json");
        Assert.Contains("malformed", Assert.Throws<InputException>(() => ModelDirectory.Load(dir)).Message);
    }

    [Fact]
    public void A_failed_atomic_write_leaves_the_previous_file_intact()
    {
        var dir = TestUtil.TempDir();
        var path = Path.Combine(dir, "a.txt");
        AtomicFile.WriteAllText(path, "good");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, temp =>
        {
            File.WriteAllText(temp, "partial");
            throw new IOException("disk full");
        }));
        Assert.Equal("good", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir));
    }
}
