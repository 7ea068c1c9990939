using Microsoft.Extensions.Logging;

namespace DivideAssemble;

/// <summary>
/// Fluent builder of an <see cref="AnomalyDetector"/>. Each <c>WithX</c> only records its values;
/// <see cref="Build"/> validates the whole configuration with <see cref="DaadOptionsValidator"/> (the
/// validator that also checks options bound through dependency injection and read from model files)
/// and reports every problem at once.
/// </summary>
/// <example>
/// <code>
/// using var detector = DaadBuilder.Create()
///     .WithImageSize(128)
///     .WithBlockDivision(8, 8, 1)
///     .WithMemory(500)
///     .WithAdversarialTraining()
///     .OnDevice("cpu")
///     .Build();
/// </code>
/// </example>
public sealed class DaadBuilder
{
    private readonly DaadOptions options;
    private ILogger? logger;

    private DaadBuilder(DaadOptions options) => this.options = options;

    /// <summary>Starts from the library defaults (<see cref="DaadOptions.Default"/>).</summary>
    public static DaadBuilder Create() => new(DaadOptions.Default);

    /// <summary>Starts from a copy of the given options (for example <see cref="DaadOptions.Paper"/>).</summary>
    public static DaadBuilder Create(DaadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new DaadBuilder(options.Clone());
    }

    /// <summary>Sets the model variant.</summary>
    public DaadBuilder WithVariant(ModelVariant variant)
    {
        options.Network.Variant = variant;
        return this;
    }

    /// <summary>Sets the image side S (images are resized to S×S).</summary>
    public DaadBuilder WithImageSize(int size)
    {
        options.Network.ImageSize = size;
        return this;
    }

    /// <summary>Sets the number of image channels (1 grey, 3 RGB, 4 RGBA).</summary>
    public DaadBuilder WithChannels(int channels)
    {
        options.Network.Channels = channels;
        return this;
    }

    /// <summary>Sets the depth and widths of the encoder/decoder.</summary>
    public DaadBuilder WithArchitecture(int depth, int baseWidth, int maxWidth = 512)
    {
        options.Network.Depth = depth;
        options.Network.BaseWidth = baseWidth;
        options.Network.MaxWidth = maxWidth;
        return this;
    }

    /// <summary>Sets the block division ratios r_h, r_w, r_c (the same at every scale).</summary>
    public DaadBuilder WithBlockDivision(int heightRatio, int widthRatio, int channelRatio = 1)
    {
        options.Network.HeightRatio = heightRatio;
        options.Network.WidthRatio = widthRatio;
        options.Network.ChannelRatio = channelRatio;
        options.Network.PerPixel = false;
        return this;
    }

    /// <summary>Uses one block per pixel at every scale (MemAE's pixel-wise memory).</summary>
    public DaadBuilder WithPixelBlocks()
    {
        options.Network.PerPixel = true;
        return this;
    }

    /// <summary>Sets the memory size and, optionally, its addressing.</summary>
    /// <param name="items">Items per scale's bank (N).</param>
    /// <param name="temperature">Softmax temperature of the addressing; <see langword="null"/> keeps the current value (library default 0.1).</param>
    /// <param name="shrinkThreshold">MemAE hard-shrinkage threshold (0 turns it off); <see langword="null"/> keeps the current value.</param>
    public DaadBuilder WithMemory(int items, double? temperature = null, double? shrinkThreshold = null)
    {
        options.Network.MemoryItems = items;
        options.Network.MemoryTemperature = temperature ?? options.Network.MemoryTemperature;
        options.Network.ShrinkThreshold = shrinkThreshold ?? options.Network.ShrinkThreshold;
        return this;
    }

    /// <summary>Selects DAAD+: adversarial training with a DCGAN discriminator and the alignment score.</summary>
    public DaadBuilder WithAdversarialTraining()
    {
        options.Network.Variant = ModelVariant.DaadPlus;
        return this;
    }

    /// <summary>
    /// Adds a discriminative head (a small UNet on the image and its reconstruction, trained on synthetic
    /// anomalies made from the training images) whose anomaly probability becomes the anomaly map, or removes
    /// it with width 0.
    /// </summary>
    /// <param name="width">The head's stem width (0: no head).</param>
    /// <param name="depth">Its number of down and up stages; <see langword="null"/> keeps the current value (library default 3).</param>
    /// <param name="weight">Its weight in the image score (<see cref="ScoringOptions.HeadWeight"/>); <see langword="null"/> keeps the current value.</param>
    public DaadBuilder WithDiscriminativeHead(int width, int? depth = null, double? weight = null)
    {
        options.Network.HeadWidth = width;
        options.Network.HeadDepth = depth ?? options.Network.HeadDepth;
        options.Scoring.HeadWeight = weight ?? options.Scoring.HeadWeight;
        return this;
    }

    /// <summary>Trains the generator to restore images with synthetic anomalies to the clean image (or not), whatever the size-derived default.</summary>
    public DaadBuilder WithRestoration(bool restoration = true)
    {
        options.Training.Restoration = restoration;
        return this;
    }

    /// <summary>Sets epochs and batch size.</summary>
    public DaadBuilder WithTraining(int epochs, int batchSize = 8)
    {
        options.Training.Epochs = epochs;
        options.Training.BatchSize = batchSize;
        return this;
    }

    /// <summary>Turns random horizontal and vertical flips on or off (off for digit-like data); scoring averages over the same flips unless <see cref="WithFlipAveraging"/> turns that off.</summary>
    public DaadBuilder WithFlips(bool horizontal, bool vertical)
    {
        options.Training.HorizontalFlip = horizontal;
        options.Training.VerticalFlip = vertical;
        return this;
    }

    /// <summary>
    /// Scores each image as the mean of its views under the training's flips (the default), or as itself alone — one
    /// network pass per image instead of up to four (<see cref="ScoringOptions.FlipAveraging"/>).
    /// </summary>
    public DaadBuilder WithFlipAveraging(bool on = true)
    {
        options.Scoring.FlipAveraging = on;
        return this;
    }

    /// <summary>Sets the random seed of the weights, shuffling and augmentation.</summary>
    public DaadBuilder WithSeed(int seed)
    {
        options.Seed = seed;
        return this;
    }

    /// <summary>Sets the device: <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public DaadBuilder OnDevice(string device)
    {
        options.Device = device;
        return this;
    }

    /// <summary>Sets a logger for training and scoring.</summary>
    public DaadBuilder WithLogger(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        this.logger = logger;
        return this;
    }

    /// <summary>Changes any option not covered by a dedicated method.</summary>
    public DaadBuilder Configure(Action<DaadOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(options);
        return this;
    }

    /// <summary>Returns a copy of the options configured so far.</summary>
    public DaadOptions ToOptions() => options.Clone();

    /// <summary>Validates the configuration and builds the (untrained) detector.</summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The configuration is invalid; every problem is listed, each naming its property.</exception>
    /// <exception cref="InvalidOperationException">A CUDA device was requested but CUDA is not available.</exception>
    public AnomalyDetector Build()
    {
        Scoring.ScoringRules.ThrowIfInvalid(options);
        return new AnomalyDetector(options.Clone(), logger);
    }
}
