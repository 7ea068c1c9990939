using DivideAssemble.Imaging;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace DivideAssemble.Cli;

/// <summary>The options several commands share: the data set (<c>--data --format …</c>), the training options, and <c>--threads</c>.</summary>
internal static class SharedArguments
{
    public static readonly IReadOnlyDictionary<string, ModelVariant> Variants = new Dictionary<string, ModelVariant>(StringComparer.Ordinal)
    {
        ["daad"] = ModelVariant.Daad,
        ["daad+"] = ModelVariant.DaadPlus,
        ["ae"] = ModelVariant.Autoencoder,
        ["ae-skip"] = ModelVariant.AutoencoderSkip,
        ["memae"] = ModelVariant.MemAE,
    };

    private static readonly IReadOnlyDictionary<string, string> Splits = new Dictionary<string, string>(StringComparer.Ordinal) { ["test"] = "test", ["validation"] = "validation" };

    private static readonly IReadOnlyDictionary<string, string> Formats = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["mvtec"] = "mvtec",
        ["folder"] = "folder",
        ["idx"] = "idx",
        ["cifar"] = "cifar",
    };

    private static readonly IReadOnlyDictionary<string, bool?> Switches = new Dictionary<string, bool?>(StringComparer.Ordinal)
    {
        ["auto"] = null,
        ["on"] = true,
        ["off"] = false,
    };

    private static readonly IReadOnlyDictionary<string, MemoryInit> MemoryInits = new Dictionary<string, MemoryInit>(StringComparer.Ordinal)
    {
        ["auto"] = MemoryInit.Auto,
        ["uniform"] = MemoryInit.Uniform,
        ["samples"] = MemoryInit.Samples,
    };

    /// <summary>Loads the data set the options name; <paramref name="validation"/> forces a validation split of the training images.</summary>
    public static AnomalyDataset LoadData(Arguments a, bool validation = false)
    {
        string path = a.Required("data");
        string format = a.Choice("format", Formats, string.Empty);
        if (format.Length == 0)
        {
            throw new UsageException("missing required option --format (mvtec, folder, idx or cifar)");
        }

        string? category = a.Optional("category");
        int? normalClass = a.Int("normal-class", 0, 255);
        bool skip = a.Flag("skip-unreadable");
        string split = a.Choice("split", Splits, "test");
        bool forced = validation;
        validation |= split == "validation";
        if (validation && format == "folder" && !forced)
        {
            throw new UsageException("--split validation applies to mvtec, idx and cifar data, not folder");
        }

        AnomalyDataset data = format switch
        {
            "mvtec" => Datasets.Mvtec(path, category, validation),
            "folder" => validation ? Datasets.FolderValidation(path) : FolderData(path),
            "idx" => Datasets.Idx(path, normalClass ?? throw new UsageException("--format idx needs --normal-class <k>"), validation),
            "cifar" => Datasets.Cifar10(path, normalClass ?? throw new UsageException("--format cifar needs --normal-class <k>"), validation),
            _ => throw new UsageException($"unknown format '{format}'"),
        };
        if (format is not ("idx" or "cifar") && normalClass is not null)
        {
            throw new UsageException($"--normal-class applies to idx and cifar data, not {format}");
        }

        return skip ? SkipUnreadable(data) : data;
    }

    /// <summary>The training options from the preset and the options given; every range is the options validator's to check.</summary>
    public static DaadOptions TrainingOptions(Arguments a, AnomalyDataset data)
    {
        var preset = a.Choice("preset", new Dictionary<string, Func<DaadOptions>>(StringComparer.Ordinal) { ["default"] = () => DaadOptions.Default, ["paper"] = () => DaadOptions.Paper }, () => DaadOptions.Default)();
        var o = preset;
        o.Network.Variant = a.Choice("model", Variants, o.Network.Variant);
        o.Network.ImageSize = a.Int("image-size") ?? o.Network.ImageSize;
        o.Network.Channels = a.Int("channels") ?? data.Channels;
        if (a.Optional("division") is { } division)
        {
            Arguments.SetDivision(o.Network, division, "division");
        }

        o.Network.MemoryItems = a.Int("memory") ?? o.Network.MemoryItems;
        o.Network.MemoryTemperature = a.Double("temperature") ?? o.Network.MemoryTemperature;
        o.Training.MemoryInit = a.Choice("memory-init", MemoryInits, o.Training.MemoryInit);
        o.Scoring.MemoryWeight = a.Double("memory-weight") ?? o.Scoring.MemoryWeight;
        o.Network.BaseWidth = a.Int("width") ?? o.Network.BaseWidth;
        o.Network.HeadWidth = a.Int("head-width") ?? o.Network.HeadWidth;
        o.Training.Restoration = a.Choice("restoration", Switches, o.Training.Restoration);
        o.Training.HeadLearningRate = a.Double("head-lr") ?? o.Training.HeadLearningRate;
        o.Training.HeadEpochs = a.Int("head-epochs") ?? o.Training.HeadEpochs;
        o.Scoring.HeadWeight = a.Double("head-weight") ?? o.Scoring.HeadWeight;
        o.Scoring.FlipAveraging = a.Choice("flip-averaging", Switches, o.Scoring.FlipAveraging);
        o.Network.Depth = a.Int("depth") ?? o.Network.Depth;
        o.Training.Epochs = a.Int("epochs") ?? o.Training.Epochs;
        o.Training.BatchSize = a.Int("batch") ?? o.Training.BatchSize;
        o.Training.LearningRate = a.Double("lr") ?? o.Training.LearningRate;
        o.Training.CheckpointEvery = a.Int("checkpoint-every") ?? o.Training.CheckpointEvery;
        o.Seed = a.Int("seed") ?? o.Seed;
        o.Device = a.Optional("device") ?? o.Device;
        bool noFlips = a.Flag("no-flips");
        o.Training.HorizontalFlip &= data.HorizontalFlipsAreNormal && !noFlips;
        o.Training.VerticalFlip &= data.VerticalFlipsAreNormal && !noFlips;

        // Ranges are the options validator's to check, so a bad value reads the same here as from the API or a model file.
        var errors = Scoring.ScoringRules.Collect(o);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(DaadOptions), errors);
        }

        return o;
    }

    /// <summary>Applies <c>--threads n</c> to this process's libtorch (the library never changes the process-wide thread count itself).</summary>
    public static void ApplyThreads(Arguments a)
    {
        if (a.Int("threads", 1, 1024) is { } threads)
        {
            torch.set_num_threads(threads);
        }
    }

    private static AnomalyDataset FolderData(string path)
    {
        // A plain folder trains on all its images; for evaluation it needs good/ (or normal/) and defect subfolders.
        var train = Datasets.Folder(path);
        var labelled = Datasets.LabelledFolder(path);
        return new AnomalyDataset(train, labelled, $"image folder '{path}': {train.Count} images")
        {
            Format = DatasetFormat.Folder,
            Channels = ImageDecoder.Decode(train.Paths[0]).IsGrey ? 1 : 3,
            HorizontalFlipsAreNormal = true,
            VerticalFlipsAreNormal = true,
        };
    }

    private static AnomalyDataset SkipUnreadable(AnomalyDataset data)
    {
        if (data.Train is FileImageSource files)
        {
            data = data with { Train = Readable(files) };
            if (data.IsValidationSplit && data.FullTrain is FileImageSource all)
            {
                data = data with { FullTrain = all.WithoutUnreadable().Source };
            }
        }

        if (data.Test is FileImageSource test)
        {
            data = data with { Test = Readable(test) };
        }

        return data;

        static FileImageSource Readable(FileImageSource source)
        {
            var (clean, skipped) = source.WithoutUnreadable();
            foreach (var (p, why) in skipped)
            {
                Console.Error.WriteLine($"skipped: {p}: {why}");
            }

            return clean;
        }
    }
}
