namespace DivideAssemble.Imaging;

/// <summary>A data set split for the one-class protocol: normal training images and a labelled test set.</summary>
/// <param name="Train">Normal images to train on.</param>
/// <param name="Test">Labelled test images (normal and anomalous).</param>
/// <param name="Description">What was loaded and how it was split (for people; code reads the typed properties).</param>
public sealed record AnomalyDataset(IImageSource Train, ILabeledImageSource Test, string Description)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Print(this, builder);

    /// <summary>Gets the layout the data set was read from.</summary>
    public required DatasetFormat Format { get; init; }

    /// <summary>Gets the channels of the images as stored: 1 for grey, 3 for colour — what a model trained on them should take.</summary>
    public required int Channels { get; init; }

    /// <summary>Gets a value indicating whether a normal image mirrored left–right is still normal (false for digits).</summary>
    public required bool HorizontalFlipsAreNormal { get; init; }

    /// <summary>Gets a value indicating whether a normal image mirrored top–bottom is still normal (false for digits and photographs).</summary>
    public required bool VerticalFlipsAreNormal { get; init; }

    /// <summary>Gets a value indicating whether <see cref="Test"/> is a validation split made from training images (the test split was never read).</summary>
    public bool IsValidationSplit { get; init; }

    /// <summary>
    /// Gets every normal training image: <see cref="Train"/> plus the normal images a validation split
    /// holds back (what a final model trains on once settings are chosen); <see cref="Train"/> otherwise.
    /// </summary>
    public IImageSource FullTrain
    {
        get => fullTrain ?? Train;
        init => fullTrain = value;
    }

    private readonly IImageSource? fullTrain;
}

/// <summary>The layout a data set was read from.</summary>
public enum DatasetFormat
{
    /// <summary>An MVTec-AD category: <c>train/good</c>, <c>test/&lt;defect|good&gt;</c>, <c>ground_truth</c>.</summary>
    Mvtec = 0,

    /// <summary>A plain folder of images (optionally with <c>good</c>/defect subfolders for testing).</summary>
    Folder = 1,

    /// <summary>MNIST-style IDX files.</summary>
    Idx = 2,

    /// <summary>CIFAR-10 binary batches.</summary>
    Cifar10 = 3,
}

/// <summary>Loads data sets in the common layouts.</summary>
public static class Datasets
{
    private static readonly string[] ImageExtensions = { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>
    /// Loads an MVTec-AD category: <c>train/good</c>, <c>test/&lt;defect|good&gt;</c> and
    /// <c>ground_truth/&lt;defect&gt;/&lt;name&gt;_mask.png</c>. <paramref name="path"/> is the category
    /// folder, or the data-set root when <paramref name="category"/> is given.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">A required folder is missing; the message names it.</exception>
    /// <remarks>
    /// With <paramref name="validation"/> set, the test folder is never read: every fifth training image
    /// is held back, and the test set is those images as they are plus each with a synthetic defect
    /// (<see cref="SyntheticDefects"/>), so settings can be chosen without the real test set.
    /// </remarks>
    /// <exception cref="InvalidDataException">A split holds no images.</exception>
    public static AnomalyDataset Mvtec(string path, string? category = null, bool validation = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string root = category is null ? path : Path.Combine(path, category);
        RequireFolder(root, category is null ? "MVTec category folder" : $"category '{category}'");
        string trainGood = Path.Combine(root, "train", "good");
        RequireFolder(trainGood, "training folder");
        var train = ImageFiles(trainGood);
        if (train.Count == 0)
        {
            throw new InvalidDataException($"The training folder '{trainGood}' holds no PNG, JPEG or BMP images.");
        }

        if (validation)
        {
            return SyntheticValidation(train, $"MVTec-AD category '{root}'", DatasetFormat.Mvtec);
        }

        string test = Path.Combine(root, "test");
        RequireFolder(test, "test folder");

        var paths = new List<string>();
        var labels = new List<int>();
        var masks = new List<string?>();
        bool anyMask = false;
        foreach (string defectDir in Directory.GetDirectories(test).OrderBy(d => d, StringComparer.Ordinal))
        {
            string defect = Path.GetFileName(defectDir);
            bool good = defect == "good";
            foreach (string image in ImageFiles(defectDir))
            {
                paths.Add(image);
                labels.Add(good ? 0 : 1);
                if (good)
                {
                    masks.Add(null);
                    continue;
                }

                string mask = Path.Combine(root, "ground_truth", defect, Path.GetFileNameWithoutExtension(image) + "_mask.png");
                anyMask |= File.Exists(mask);
                masks.Add(mask);
            }
        }

        if (paths.Count == 0)
        {
            throw new InvalidDataException($"The test folder '{test}' holds no images.");
        }

        var testSource = new FileImageSource(paths, labels, anyMask ? masks : null);
        return new AnomalyDataset(
            new FileImageSource(train),
            testSource,
            $"MVTec-AD category '{root}': {train.Count} training images, {labels.Count(l => l == 0)} normal and {labels.Count(l => l == 1)} anomalous test images{(anyMask ? " with masks" : string.Empty)}")
        {
            Format = DatasetFormat.Mvtec,
            Channels = StoredChannels(train[0]),
            HorizontalFlipsAreNormal = true,
            VerticalFlipsAreNormal = true,
        };
    }

    /// <summary>Returns a source over the images of a folder (PNG, JPEG, BMP; sorted by name), all normal.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder is missing.</exception>
    /// <exception cref="InvalidDataException">The folder holds no images.</exception>
    public static FileImageSource Folder(string path, bool recursive = false)
    {
        RequireFolder(path, "image folder");
        var images = ImageFiles(path, recursive);
        if (images.Count == 0)
        {
            throw new InvalidDataException($"The folder '{path}' holds no PNG, JPEG or BMP images.");
        }

        return new FileImageSource(images);
    }

    /// <summary>
    /// Returns the labelled images of a folder laid out like an MVTec-AD <c>test</c> folder: images in
    /// <c>good/</c> (or <c>normal/</c>) are normal, images in any other subfolder (one per defect kind)
    /// are anomalous; the folder's own top-level files are not read. For example a few real defects of
    /// your line held back to choose settings on (<c>daad train --select --select-on</c>).
    /// </summary>
    /// <param name="path">The folder.</param>
    /// <returns>The images (subfolders and files in ordinal order) with labels 0 (normal) and 1 (anomalous), without masks; empty when the folder has no subfolders with images.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder is missing.</exception>
    public static FileImageSource LabelledFolder(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        RequireFolder(path, "labelled image folder");
        var paths = new List<string>();
        var labels = new List<int>();
        foreach (string folder in Directory.GetDirectories(path).OrderBy(d => d, StringComparer.Ordinal))
        {
            int label = Path.GetFileName(folder) is "good" or "normal" ? 0 : 1;
            foreach (string file in ImageFiles(folder))
            {
                paths.Add(file);
                labels.Add(label);
            }
        }

        return new FileImageSource(paths, labels);
    }

    /// <summary>
    /// Loads MNIST-style IDX files for the one-class protocol with <paramref name="normalClass"/> normal.
    /// With the canonical <c>train-</c>/<c>t10k-</c> pairs the official split is used; with a single
    /// <c>*images-idx3-ubyte[.gz]</c>/<c>*labels-idx1-ubyte[.gz]</c> pair the first 80 % of each class
    /// (in file order) is the training part and the rest the test part, so train and test never overlap.
    /// Training images are the normal class's training part; the test set is the whole test part.
    /// With <paramref name="validation"/> set, only the training part is read: its first 7/8 of each
    /// class trains and its last 1/8 of every class tests, so settings can be tuned without the test split.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder is missing.</exception>
    /// <exception cref="InvalidDataException">The files are missing, malformed or disagree.</exception>
    public static AnomalyDataset Idx(string folder, int normalClass, bool validation = false)
    {
        RequireFolder(folder, "IDX folder");
        var files = Directory.GetFiles(folder);
        string? Find(string prefix, string kind) => files
            .Where(f => Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal) && Path.GetFileName(f).Contains(kind, StringComparison.Ordinal))
            .OrderBy(f => f, StringComparer.Ordinal)
            .FirstOrDefault();

        string? trainImages = Find("train-", "images-idx3-ubyte"), trainLabels = Find("train-", "labels-idx1-ubyte");
        string? testImages = Find("t10k-", "images-idx3-ubyte"), testLabels = Find("t10k-", "labels-idx1-ubyte");
        if (trainImages is not null && trainLabels is not null && testImages is not null && testLabels is not null)
        {
            var train = IdxReader.Read(trainImages, trainLabels);
            CheckClass(normalClass, train.Labels, trainLabels);
            if (validation)
            {
                return ValidationSplit(train, Enumerable.Range(0, train.Count).ToArray(), normalClass, $"IDX '{folder}'", DatasetFormat.Idx);
            }

            var test = IdxReader.Read(testImages, testLabels);
            var trainIdx = Enumerable.Range(0, train.Count).Where(i => train.Labels[i] == normalClass).ToArray();
            return new AnomalyDataset(
                train.Subset(trainIdx, normalClass),
                test.Subset(Enumerable.Range(0, test.Count).ToArray(), normalClass),
                $"IDX '{folder}' (official train/t10k split), class {normalClass} normal: {trainIdx.Length} training images, {test.Count} test images")
            {
                Format = DatasetFormat.Idx,
                Channels = 1,
                HorizontalFlipsAreNormal = false,
                VerticalFlipsAreNormal = false,
            };
        }

        string? images = Find(string.Empty, "images-idx3-ubyte");
        string? labels = Find(string.Empty, "labels-idx1-ubyte");
        if (images is null || labels is null)
        {
            throw new InvalidDataException($"The folder '{folder}' holds no '*images-idx3-ubyte[.gz]' and '*labels-idx1-ubyte[.gz]' pair.");
        }

        var all = IdxReader.Read(images, labels);
        CheckClass(normalClass, all.Labels, labels);
        var (trainPart, testPart) = OneClass.SplitPerClass(all.Labels, 0.8);
        if (validation)
        {
            return ValidationSplit(all, trainPart, normalClass, $"IDX '{folder}' (training part: first 80 % of each class)", DatasetFormat.Idx);
        }

        var normalTrain = trainPart.Where(i => all.Labels[i] == normalClass).ToArray();
        return new AnomalyDataset(
            all.Subset(normalTrain, normalClass),
            all.Subset(testPart, normalClass),
            $"IDX '{folder}' (deterministic split: first 80 % of each class for training), class {normalClass} normal: {normalTrain.Length} training images, {testPart.Length} test images")
        {
            Format = DatasetFormat.Idx,
            Channels = 1,
            HorizontalFlipsAreNormal = false,
            VerticalFlipsAreNormal = false,
        };
    }

    /// <summary>
    /// Loads CIFAR-10 binary batches (<c>data_batch_1..5.bin</c>, <c>test_batch.bin</c>) for the
    /// one-class protocol with <paramref name="normalClass"/> normal (official split). With
    /// <paramref name="validation"/> set, only the training batches are read (see <see cref="Idx"/>).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder is missing.</exception>
    /// <exception cref="InvalidDataException">A batch file is missing or malformed.</exception>
    public static AnomalyDataset Cifar10(string folder, int normalClass, bool validation = false)
    {
        RequireFolder(folder, "CIFAR-10 folder");
        var trainFiles = Enumerable.Range(1, 5).Select(i => Path.Combine(folder, $"data_batch_{i}.bin")).Where(File.Exists).ToList();
        string testFile = Path.Combine(folder, "test_batch.bin");
        if (trainFiles.Count == 0 || !File.Exists(testFile))
        {
            throw new InvalidDataException($"The folder '{folder}' holds no CIFAR-10 binary batches (data_batch_N.bin and test_batch.bin).");
        }

        var train = CifarReader.Read(trainFiles);
        CheckClass(normalClass, train.Labels, trainFiles[0]);
        if (validation)
        {
            return ValidationSplit(train, Enumerable.Range(0, train.Count).ToArray(), normalClass, $"CIFAR-10 '{folder}'", DatasetFormat.Cifar10);
        }

        var test = CifarReader.Read(new[] { testFile });
        var trainIdx = Enumerable.Range(0, train.Count).Where(i => train.Labels[i] == normalClass).ToArray();
        return new AnomalyDataset(
            train.Subset(trainIdx, normalClass),
            test.Subset(Enumerable.Range(0, test.Count).ToArray(), normalClass),
            $"CIFAR-10 '{folder}' (official split), class {normalClass} normal: {trainIdx.Length} training images, {test.Count} test images")
        {
            Format = DatasetFormat.Cifar10,
            Channels = 3,
            HorizontalFlipsAreNormal = true,
            VerticalFlipsAreNormal = false,
        };
    }

    /// <summary>Holds back every fifth image of <paramref name="train"/> and validates on it with synthetic defects.</summary>
    internal static AnomalyDataset SyntheticValidation(IReadOnlyList<string> train, string origin, DatasetFormat format)
    {
        var (fitIndices, heldIndices) = DivideAssemble.SyntheticValidation.Split(train.Count);
        if (train.Count < DivideAssemble.SyntheticValidation.MinimumImages)
        {
            throw new InvalidDataException($"{origin}: a validation split needs at least {DivideAssemble.SyntheticValidation.MinimumImages} training images (every fifth is held back); there are {train.Count}.");
        }

        var fit = fitIndices.Select(i => train[i]).ToList();
        var held = heldIndices.Select(i => train[i]).ToList();
        return new AnomalyDataset(
            new FileImageSource(fit),
            DivideAssemble.SyntheticValidation.Of(new FileImageSource(held)),
            $"{origin} (validation split: every fifth training image held back and shown as it is and with a synthetic scratch or stain; the test folder is never read): {fit.Count} training images, {held.Count} normal and {held.Count * DivideAssemble.SyntheticValidation.DefectsPerImage(held.Count)} synthetic-defect validation images")
        {
            Format = format,
            Channels = StoredChannels(train[0]),
            HorizontalFlipsAreNormal = true,
            VerticalFlipsAreNormal = true,
            IsValidationSplit = true,
            FullTrain = new FileImageSource(train),
        };
    }

    /// <summary>
    /// Loads a plain folder of normal images (its top level only; subfolders are never read) as a
    /// validation split: every fifth image held back, shown as it is and with a synthetic defect.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder is missing.</exception>
    /// <exception cref="InvalidDataException">The folder holds fewer than 10 images.</exception>
    public static AnomalyDataset FolderValidation(string path)
    {
        var images = Folder(path);
        return SyntheticValidation(images.Paths, $"image folder '{path}'", DatasetFormat.Folder);
    }

    /// <summary>Splits the training images <paramref name="trainPart"/> of <paramref name="images"/> per class: the first 7/8 train, the last 1/8 test.</summary>
    private static AnomalyDataset ValidationSplit(RawImages images, int[] trainPart, int normalClass, string origin, DatasetFormat format)
    {
        var (fit, held) = OneClass.SplitPerClass(images.Labels, trainPart, 7.0 / 8);
        var normalFit = fit.Where(i => images.Labels[i] == normalClass).ToArray();
        var normalAll = trainPart.Where(i => images.Labels[i] == normalClass).ToArray();
        return new AnomalyDataset(
            images.Subset(normalFit, normalClass),
            images.Subset(held, normalClass),
            $"{origin} (validation split of the training images: first 7/8 of each class for training, the last 1/8 for testing; the test split is never read), class {normalClass} normal: {normalFit.Length} training images, {held.Length} test images")
        {
            Format = format,
            Channels = images.Channels,
            HorizontalFlipsAreNormal = format == DatasetFormat.Cifar10,
            VerticalFlipsAreNormal = false,
            IsValidationSplit = true,
            FullTrain = images.Subset(normalAll, normalClass),
        };
    }

    /// <summary>Returns the PNG, JPEG and BMP files of a folder, sorted by ordinal name.</summary>
    public static IReadOnlyList<string> ImageFiles(string folder, bool recursive = false) =>
        Directory.EnumerateFiles(folder, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();

    /// <summary>The channels a model should take for images like <paramref name="path"/>: 1 for a grey file, 3 otherwise.</summary>
    private static int StoredChannels(string path) => ImageDecoder.Decode(path).IsGrey ? 1 : 3;

    private static void RequireFolder(string path, string what)
    {
        if (!Directory.Exists(path))
        {
            throw new DirectoryNotFoundException($"The {what} '{path}' does not exist.");
        }
    }

    private static void CheckClass(int normalClass, byte[] labels, string file)
    {
        if (!labels.Contains((byte)normalClass) || normalClass is < 0 or > 255)
        {
            throw new ArgumentOutOfRangeException(nameof(normalClass), normalClass, $"Class {normalClass} does not occur in '{file}' (classes present: {string.Join(", ", labels.Distinct().Order())}).");
        }
    }
}

/// <summary>The one-class protocol's deterministic split.</summary>
public static class OneClass
{
    /// <summary>Splits indices per class: the first <paramref name="trainFraction"/> of each class (in order) for training, the rest for testing.</summary>
    public static (int[] Train, int[] Test) SplitPerClass(IReadOnlyList<byte> labels, double trainFraction)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return SplitPerClass(labels, Enumerable.Range(0, labels.Count).ToArray(), trainFraction);
    }

    /// <summary>Splits the given indices per class the same way: the first <paramref name="trainFraction"/> of each class's members (in order) for training, the rest for testing.</summary>
    public static (int[] Train, int[] Test) SplitPerClass(IReadOnlyList<byte> labels, IReadOnlyList<int> indices, double trainFraction)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(indices);
        var train = new List<int>();
        var test = new List<int>();
        foreach (var group in indices.GroupBy(i => labels[i]))
        {
            var members = group.ToList();
            int cut = (int)Math.Floor(members.Count * trainFraction);
            train.AddRange(members.Take(cut));
            test.AddRange(members.Skip(cut));
        }

        train.Sort();
        test.Sort();
        return (train.ToArray(), test.ToArray());
    }
}
