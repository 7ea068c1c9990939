using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// The DAAD/DAAD+ anomaly detector: a <see cref="DaadGenerator"/>, for DAAD+ a
/// <see cref="DcganDiscriminator"/>, and an <see cref="AnomalyScorer"/>, trained with the paper's
/// recipe. Build one with <see cref="DaadBuilder"/>, or load a saved one with <see cref="Load(string, string?, ILogger?)"/>.
/// </summary>
public sealed class AnomalyDetector : IAnomalyDetector
{
    private readonly DaadOptions options;
    private readonly DaadGenerator generator;
    private readonly DcganDiscriminator? discriminator;
    private AnomalyScorer scorer;
    private readonly Device device;
    private readonly ILogger logger;
    private readonly object gate = new();
    private bool disposed;

    /// <summary>Builds an untrained detector from validated options.</summary>
    /// <param name="options">The options (copied).</param>
    /// <param name="logger">An optional logger.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; every problem is listed.</exception>
    public AnomalyDetector(DaadOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        DaadOptionsValidator.ThrowIfInvalid(options);
        this.options = options.Clone();
        this.logger = logger ?? NullLogger.Instance;
        if (this.options.Threads > 0)
        {
            set_num_threads(this.options.Threads);
        }

        device = new Device(this.options.Device);
        if (device.type == DeviceType.CUDA && !cuda.is_available())
        {
            throw new InvalidOperationException($"Device '{this.options.Device}' was requested but CUDA is not available: reference a CUDA backend package (for example TorchSharp-cuda-windows) and check the driver.");
        }

        manual_seed(this.options.Seed);
        generator = new DaadGenerator(this.options.Network);
        discriminator = this.options.Network.HasDiscriminator
            ? new DcganDiscriminator(this.options.Network.Channels, this.options.Network.ImageSize, this.options.Network.DiscriminatorBaseWidth, this.options.Network.DiscriminatorMaxWidth, this.options.Network.FeatureDimension)
            : null;
        generator.to(device);
        discriminator?.to(device);
        scorer = new AnomalyScorer(generator, discriminator, this.options.Scoring, this.options.Training.NormalizeFeatures);
        this.logger.LogDebug("Built {Summary}", generator.Summary());
    }

    /// <inheritdoc />
    public DaadOptions Options => options.Clone();

    /// <inheritdoc />
    public ScoreCalibration? Calibration => scorer.Calibration;

    /// <inheritdoc />
    public bool IsTrained => scorer.Calibration is not null;

    /// <inheritdoc />
    public int ImageSize => options.Network.ImageSize;

    /// <inheritdoc />
    public int Channels => options.Network.Channels;

    /// <summary>Gets the generator.</summary>
    public DaadGenerator Generator => generator;

    /// <summary>Gets the discriminator (DAAD+ only).</summary>
    public DcganDiscriminator? Discriminator => discriminator;

    /// <summary>Gets the scorer.</summary>
    public AnomalyScorer Scorer => scorer;

    /// <summary>Gets the device the model lives on.</summary>
    public Device Device => device;

    /// <summary>Returns a summary of the model: variant, geometry, memories, calibration.</summary>
    public string Summary()
    {
        var text = generator.Summary();
        if (discriminator is not null)
        {
            text += Environment.NewLine + $"  discriminator: {discriminator.parameters().Sum(p => p.numel()):N0} parameters, f_D of {options.Network.FeatureDimension}";
        }

        if (Calibration is { } c)
        {
            text += Environment.NewLine + $"  calibration: {c.ImageCount} normal images ({(c.FromHeldOutImages ? "held out" : "training images")}), threshold {c.Threshold:G5}, pixel threshold {c.PixelThreshold:G5}";
        }

        return text;
    }

    /// <inheritdoc />
    public TrainingSummary Fit(IImageSource normalImages, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        FitCore(normalImages, null, progress, cancellationToken);

    /// <summary>Trains like <see cref="Fit(IImageSource, IProgress{TrainingProgress}?, CancellationToken)"/>, writing a checkpoint every <see cref="TrainingOptions.CheckpointEvery"/> epochs to <paramref name="checkpointPath"/>.</summary>
    public TrainingSummary Fit(IImageSource normalImages, string checkpointPath, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointPath);
        return FitCore(normalImages, checkpointPath, progress, cancellationToken);
    }

    /// <inheritdoc />
    public Task<TrainingSummary> FitAsync(IImageSource normalImages, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Fit(normalImages, progress, cancellationToken), CancellationToken.None);

    /// <summary>
    /// Loads a checkpoint written by <see cref="Fit(IImageSource, string, IProgress{TrainingProgress}?, CancellationToken)"/>
    /// and continues training where it stopped (same options, same data), writing further checkpoints to the same path.
    /// </summary>
    /// <exception cref="FileNotFoundException">The checkpoint does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated, fails its checksum or has another format version.</exception>
    public static (AnomalyDetector Detector, TrainingSummary Summary) Resume(
        string checkpointPath, IImageSource normalImages, IProgress<TrainingProgress>? progress = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointPath);
        if (!File.Exists(checkpointPath))
        {
            throw new FileNotFoundException($"Checkpoint file '{checkpointPath}' does not exist.", checkpointPath);
        }

        using var file = File.OpenRead(checkpointPath);
        using var stream = ModelFile.Verify(file, $"'{checkpointPath}'");
        using var reader = new BinaryReader(stream);
        var header = ModelFile.ReadHeader(reader, $"'{checkpointPath}'");
        if (header.Checkpoint is null)
        {
            throw new InvalidDataException($"'{checkpointPath}' is a model, not a training checkpoint.");
        }

        var detector = new AnomalyDetector(header.Options, logger);
        try
        {
            var trainer = detector.CreateTrainer();
            var optG = trainer.CreateGeneratorOptimizer();
            var optD = trainer.CreateDiscriminatorOptimizer();
            ModelFile.ReadBody(reader, $"'{checkpointPath}'", detector.generator, detector.discriminator, optG, optD);
            var summary = detector.Train(trainer, normalImages, optG, optD, header.Checkpoint, checkpointPath, progress, cancellationToken);
            return (detector, summary);
        }
        catch
        {
            detector.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Re-measures the score normalisation and thresholds on normal images the model was not
    /// trained on, optionally with new scoring options (pooling, smoothing, target false-positive rates).
    /// </summary>
    /// <param name="normalImages">Normal images, ideally held back from training.</param>
    /// <param name="scoring">New scoring options, or <see langword="null"/> to keep the current ones.</param>
    /// <returns>The new calibration.</returns>
    /// <exception cref="ArgumentException">The source is empty.</exception>
    public ScoreCalibration Calibrate(IImageSource normalImages, ScoringOptions? scoring = null)
    {
        ArgumentNullException.ThrowIfNull(normalImages);
        ObjectDisposedException.ThrowIf(disposed, this);
        if (normalImages.Count == 0)
        {
            throw new ArgumentException("Calibration needs at least one normal image.", nameof(normalImages));
        }

        if (scoring is not null)
        {
            var candidate = options.Clone();
            candidate.Scoring = scoring.Clone();
            DaadOptionsValidator.ThrowIfInvalid(candidate);
        }

        lock (gate)
        {
            var next = new AnomalyScorer(generator, discriminator, scoring ?? options.Scoring, options.Training.NormalizeFeatures);
            var reader = new BatchReader(normalImages, Channels, ImageSize);
            var calibration = next.Calibrate(reader.Tensors(Enumerable.Range(0, normalImages.Count).ToArray(), options.Training.BatchSize, CPU), heldOut: true);
            scorer = next;
            if (scoring is not null)
            {
                options.Scoring = scoring.Clone();
            }

            return calibration;
        }
    }

    /// <summary>Returns the indices of the normal images that training held back (for validation and calibration) from a source of <paramref name="count"/> images.</summary>
    public IReadOnlyList<int> HeldOutIndices(int count) => DaadTrainer.Split(count, options.Training.ValidationFraction, options.Seed).Validation;

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(Tensor images)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        lock (gate)
        {
            return scorer.Score(images);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IImageSource images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        ObjectDisposedException.ThrowIf(disposed, this);
        var reader = new BatchReader(images, Channels, ImageSize);
        var results = new List<AnomalyResult>(images.Count);
        foreach (var (_, data) in reader.Batches(Enumerable.Range(0, images.Count).ToArray(), options.Training.BatchSize, cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            results.AddRange(Score(reader.ToTensor(data, CPU)));
        }

        return results;
    }

    /// <inheritdoc />
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ObjectDisposedException.ThrowIf(disposed, this);
        ModelFile.WriteAtomically(path, Save);
    }

    /// <inheritdoc />
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ObjectDisposedException.ThrowIf(disposed, this);
        lock (gate)
        {
            ModelFile.Write(stream, new ModelHeader { Options = options.Clone(), Calibration = Calibration }, generator, discriminator);
        }
    }

    /// <summary>Loads a model file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="device">The device to load onto (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>); <see langword="null"/> keeps the saved one.</param>
    /// <param name="logger">An optional logger.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a model, is truncated, fails its checksum, holds invalid options, or has a format version this library does not read; the message names the file.</exception>
    public static AnomalyDetector Load(string path, string? device = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        using var stream = File.OpenRead(path);
        return Load(stream, device, logger, $"'{path}'");
    }

    /// <summary>Loads a model from a stream.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a complete model of a readable format version.</exception>
    public static AnomalyDetector Load(Stream stream, string? device = null, ILogger? logger = null) => Load(stream, device, logger, "The model stream");

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        generator.Dispose();
        discriminator?.Dispose();
    }

    internal DaadTrainer CreateTrainer() => new(options, generator, discriminator, scorer, device, logger);

    private static AnomalyDetector Load(Stream stream, string? device, ILogger? logger, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var verified = ModelFile.Verify(stream, name);
        using var owned = ReferenceEquals(verified, stream) ? null : verified;
        using var reader = new BinaryReader(verified, System.Text.Encoding.UTF8, leaveOpen: true);
        var header = ModelFile.ReadHeader(reader, name);
        if (header.Checkpoint is not null)
        {
            throw new InvalidDataException($"{name} is a training checkpoint; resume it with AnomalyDetector.Resume, or finish training to get a model.");
        }

        var opts = header.Options;
        if (device is not null)
        {
            opts.Device = device;
        }

        var detector = new AnomalyDetector(opts, logger);
        try
        {
            // Weights load on the CPU first, then move: a file saved on CUDA loads on a CPU-only machine.
            ModelFile.ReadBody(reader, name, detector.generator, detector.discriminator);
            detector.scorer.SetCalibration(header.Calibration);
            return detector;
        }
        catch
        {
            detector.Dispose();
            throw;
        }
    }

    private TrainingSummary FitCore(IImageSource normalImages, string? checkpointPath, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(normalImages);
        ObjectDisposedException.ThrowIf(disposed, this);
        var trainer = CreateTrainer();
        var optG = trainer.CreateGeneratorOptimizer();
        var optD = trainer.CreateDiscriminatorOptimizer();
        return Train(trainer, normalImages, optG, optD, new CheckpointState(), checkpointPath, progress, cancellationToken);
    }

    private TrainingSummary Train(DaadTrainer trainer, IImageSource images, AdamOptimizer optG, AdamOptimizer? optD, CheckpointState state, string? checkpointPath, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            try
            {
                return trainer.Run(
                    images,
                    optG,
                    optD,
                    state,
                    checkpointPath,
                    s => new ModelHeader { Options = options.Clone(), Calibration = Calibration, Checkpoint = s },
                    progress,
                    cancellationToken);
            }
            finally
            {
                optG.Dispose();
                optD?.Dispose();
            }
        }
    }
}
