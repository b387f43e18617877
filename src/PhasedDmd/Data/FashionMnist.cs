using TorchSharp;
using static TorchSharp.torch;

namespace PhasedDmd.Data;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf 2017, Zalando): 70 000 grey 28×28 images of clothing in 10 classes, 60 000
/// for training and 10 000 for testing, as Debian's <c>dataset-fashion-mnist</c> package installs them
/// (<c>/usr/share/datasets/fashion-mnist/*-idx?-ubyte.gz</c>; <c>PHASED_DMD_FASHION_MNIST</c> names another folder).
/// Nothing is downloaded. Pixels are scaled to [−1, 1], as the example teacher is trained
/// (<c>examples/fashion-mnist/train_teacher.py</c>).
/// </summary>
public sealed class FashionMnist
{
    public const string Package = "dataset-fashion-mnist";
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";
    public const string FolderVariable = "PHASED_DMD_FASHION_MNIST";
    public const int Size = 28;

    /// <summary>The class names in label order (0 … 9), as the example teacher's names.txt writes them.</summary>
    public static readonly IReadOnlyList<string> ClassNames =
        ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"];

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, FashionMnist> Loaded = [];

    private readonly byte[] pixels;
    private readonly byte[] labels;

    /// <summary>"train" or "test".</summary>
    public string Split { get; }
    public int Count => labels.Length;

    private FashionMnist(string split, byte[] pixels, byte[] labels)
    {
        Split = split;
        this.pixels = pixels;
        this.labels = labels;
    }

    /// <summary>The folder the data is read from.</summary>
    public static string Folder => Environment.GetEnvironmentVariable(FolderVariable) is { Length: > 0 } folder ? folder : DefaultFolder;

    /// <summary>Whether both splits are installed.</summary>
    public static bool Available => new[] { "train", "t10k" }.All(p => File.Exists(FilePath(p, "images-idx3")) && File.Exists(FilePath(p, "labels-idx1")));

    private static string FilePath(string prefix, string kind) => Path.Combine(Folder, $"{prefix}-{kind}-ubyte.gz");

    /// <summary>The split ("train": 60 000 images, "test": 10 000), read once per process and folder; a missing file is one error naming the package.</summary>
    public static FashionMnist Load(string split)
    {
        var prefix = split switch
        {
            "train" => "train",
            "test" => "t10k",
            _ => throw new ArgumentException($"Fashion-MNIST has the splits train and test (got '{split}')", nameof(split)),
        };
        lock (Gate)
        {
            var key = Path.Combine(Folder, split);
            if (Loaded.TryGetValue(key, out var cached)) return cached;
            var imagesPath = FilePath(prefix, "images-idx3");
            var labelsPath = FilePath(prefix, "labels-idx1");
            foreach (var path in new[] { imagesPath, labelsPath })
                if (!File.Exists(path))
                    throw new InputException($"fashion-mnist: {path} is missing; install Debian's {Package} package (apt-get install {Package}) or set {FolderVariable}");
            var (imageShape, image) = IdxFile.Read(imagesPath);
            var (labelShape, label) = IdxFile.Read(labelsPath);
            if (imageShape is not [var n, Size, Size] || labelShape is not [var m] || n != m)
                throw new InputException($"fashion-mnist: {imagesPath} and {labelsPath} are not {Size}×{Size} images with one label each " +
                                         $"([{string.Join(", ", imageShape)}] and [{string.Join(", ", labelShape)}])");
            if (label.Any(l => l >= ClassNames.Count)) throw new InputException($"fashion-mnist: {labelsPath} holds a label outside 0 … {ClassNames.Count - 1}");
            return Loaded[key] = new FashionMnist(split, image, label);
        }
    }

    /// <summary>The label of image i.</summary>
    public int Label(int i) => labels[i];

    /// <summary>The images with the given indices, [n, 1, 28, 28] float32 in [−1, 1], on the CPU.</summary>
    public Tensor Images(IReadOnlyList<int> indices)
    {
        const int pixelsPerImage = Size * Size;
        var values = new float[indices.Count * pixelsPerImage];
        for (var k = 0; k < indices.Count; k++)
        {
            var source = pixels.AsSpan(indices[k] * pixelsPerImage, pixelsPerImage);
            var target = values.AsSpan(k * pixelsPerImage, pixelsPerImage);
            for (var p = 0; p < pixelsPerImage; p++) target[p] = source[p] / 127.5f - 1f;
        }
        return torch.tensor(values, [indices.Count, 1, Size, Size]);
    }

    /// <summary>The labels with the given indices, [n] int64.</summary>
    public Tensor Labels(IReadOnlyList<int> indices) => torch.tensor(indices.Select(i => (long)labels[i]).ToArray(), ScalarType.Int64);

    /// <summary>n indices drawn uniformly (with replacement) from the generator.</summary>
    public int[] RandomIndices(int n, Generator generator)
    {
        using var drawn = torch.randint(Count, [n], generator: generator);
        return drawn.data<long>().Select(i => (int)i).ToArray();
    }

    /// <summary>
    /// A class-balanced grid: row r, column c is the r-th image of class c in <paramref name="order"/> (the split's own
    /// order when null), laid out row-major [perClass × classes] like a model's class grid. An error if a class has fewer.
    /// </summary>
    public int[] ClassGrid(int perClass, IReadOnlyList<int>? order = null)
    {
        var byClass = Enumerable.Range(0, ClassNames.Count).Select(_ => new List<int>()).ToArray();
        foreach (var i in order ?? Enumerable.Range(0, Count).ToArray())
            if (byClass[labels[i]].Count < perClass) byClass[labels[i]].Add(i);
        if (byClass.FirstOrDefault(c => c.Count < perClass) is { } shortOne)
            throw new InputException($"fashion-mnist: the {Split} split has {shortOne.Count} images of class {ClassNames[Array.IndexOf(byClass, shortOne)]}, fewer than {perClass}");
        return Enumerable.Range(0, perClass).SelectMany(r => byClass.Select(c => c[r])).ToArray();
    }

    /// <summary>A permutation of the split's indices drawn from the generator (for a random class-balanced grid).</summary>
    public int[] Permutation(Generator generator)
    {
        using var perm = torch.randperm(Count, generator: generator);
        return perm.data<long>().Select(i => (int)i).ToArray();
    }
}
