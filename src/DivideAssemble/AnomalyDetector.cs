using DivideAssemble.Data;
using DivideAssemble.Export;
using DivideAssemble.Persistence;
using DivideAssemble.Torch;
using DivideAssemble.Training;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// The DAAD/DAAD+ anomaly detector: a <see cref="DaadGenerator"/>, for DAAD+ a
/// <see cref="DcganDiscriminator"/>, and an <see cref="AnomalyScorer"/>, trained with the paper's
/// recipe. Build one with <see cref="DaadBuilder"/>, or load a saved one with <see cref="Load(string)"/>.
/// </summary>
/// <remarks>
/// <para>Thread safety: scoring may run on many threads at once; training, calibration and changes of
/// scoring options take the detector exclusively (scoring calls wait for them).</para>
/// <para>No process-wide state changes: building, loading, training and scoring leave libtorch's global
/// random generator and thread count as the caller had them (weights are drawn from a generator seeded
/// with <see cref="DaadOptions.Seed"/> whose previous state is then restored). Set libtorch's thread count
/// in the application (<c>torch.set_num_threads</c>) if its default does not suit.</para>
/// </remarks>
public sealed class AnomalyDetector : IAnomalyDetector
{
    private readonly DaadOptions options;
    private readonly DaadGenerator generator;
    private readonly DcganDiscriminator? discriminator;
    private readonly Device device;
    private readonly ILogger logger;
    private readonly ReaderWriterLockSlim gate = new(LockRecursionPolicy.NoRecursion);
    private AnomalyScorer scorer;
    private bool trained;
    private bool disposed;

    /// <summary>Builds an untrained detector from validated options.</summary>
    /// <param name="options">The options (copied).</param>
    /// <param name="logger">An optional logger.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; every problem is listed.</exception>
    /// <exception cref="InvalidOperationException">A CUDA device was requested but CUDA is not available.</exception>
    public AnomalyDetector(DaadOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        DaadOptionsValidator.ThrowIfInvalid(options);
        this.options = options.Clone();
        this.logger = logger ?? NullLogger.Instance;
        device = new Device(this.options.Device);
        if (device.type == DeviceType.CUDA && !cuda.is_available())
        {
            throw new InvalidOperationException($"Device '{this.options.Device}' was requested but CUDA is not available: reference a CUDA backend package (for example TorchSharp-cuda-windows) and check the driver.");
        }

        // A division left to the image size is fixed here, so the model file records the one trained.
        var net = this.options.Network;
        net.HeightRatio ??= net.ResolvedHeightRatio;
        net.WidthRatio ??= net.ResolvedWidthRatio;
        (generator, discriminator) = TorchRandom.WithSeed(this.options.Seed, () =>
        {
            var g = new DaadGenerator(net);
            var d = net.HasDiscriminator ? new DcganDiscriminator(net.Channels, net.ImageSize, net.DiscriminatorBaseWidth, net.DiscriminatorMaxWidth, net.FeatureDimension) : null;
            return (g, d);
        });
        generator.to(device);
        discriminator?.to(device);
        generator.eval();
        discriminator?.eval();
        scorer = new AnomalyScorer(generator, discriminator, this.options);
        this.logger.LogDebug("Built {Summary}", generator.Summary());
    }

    /// <inheritdoc />
    public DaadOptions Options => options.Clone();

    /// <inheritdoc />
    public ScoreCalibration? Calibration => scorer.Calibration;

    /// <inheritdoc />
    public bool IsTrained => trained;

    /// <inheritdoc />
    public int ImageSize => options.Network.ImageSize;

    /// <inheritdoc />
    public int Channels => options.Network.Channels;

    /// <summary>Gets the geometry of every scale: feature-map sizes, effective division ratios, capping.</summary>
    public IReadOnlyList<ScalePlan> Scales => generator.Scales;

    /// <summary>Gets the number of learnable parameters of the generator (memories included).</summary>
    public long GeneratorParameterCount => generator.parameters().Sum(p => p.numel());

    /// <summary>Gets the number of learnable parameters of the discriminator (0 without one).</summary>
    public long DiscriminatorParameterCount => discriminator?.parameters().Sum(p => p.numel()) ?? 0;

    /// <summary>Gets the generator, for the library's tests and benchmarks only (users read <see cref="Scales"/> and the parameter counts).</summary>
    internal DaadGenerator Generator => generator;

    /// <summary>Gets the discriminator, for the library's tests and benchmarks only.</summary>
    internal DcganDiscriminator? Discriminator => discriminator;

    /// <summary>Returns a summary of the model: variant, geometry, memories, parameter counts, scoring, calibration and selection (<see cref="ModelSummary"/>).</summary>
    public string Summary() => ModelSummary.Describe(options, GeneratorParameterCount, DiscriminatorParameterCount, Calibration, Selection);

    /// <summary>Gets what model selection tried and chose, when this model came from <see cref="ModelSelection"/> (saved with the model and exported to ONNX metadata); otherwise <see langword="null"/>.</summary>
    public SelectionReport? Selection { get; internal set; }

    /// <summary>
    /// Times <paramref name="steps"/> training steps of this model on its first batch of <paramref name="images"/>
    /// (in seconds each); the steps change the weights, so call it on a throw-away model.
    /// </summary>
    internal double[] TimeTrainingSteps(IImageSource images, int steps, CancellationToken cancellationToken)
    {
        return Write(() =>
        {
            using var optG = CreateGeneratorOptimizer();
            using var optD = CreateDiscriminatorOptimizer();
            var step = new TrainingStep(options.Training, generator, discriminator, optG, optD);
            var reader = new BatchReader(images, Channels, ImageSize);
            int count = Math.Min(images.Count, options.Training.BatchSize);
            using var batch = reader.ToTensor(reader.ReadFloats(Enumerable.Range(0, count).ToArray()), device);
            generator.train();
            discriminator?.train();
            var times = new double[steps];
            try
            {
                for (int i = 0; i < steps; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    using var scope = NewDisposeScope();
                    step.Run(batch);
                    times[i] = clock.Elapsed.TotalSeconds;
                }
            }
            finally
            {
                generator.eval();
                discriminator?.eval();
            }

            return times;
        });
    }

    /// <inheritdoc />
    public TrainingSummary Fit(IImageSource normalImages, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(normalImages);
        return Train(normalImages, new CheckpointState(), null, progress, optimizers: null, cancellationToken);
    }

    /// <summary>
    /// Trains like <see cref="Fit"/>, writing a checkpoint every <see cref="TrainingOptions.CheckpointEvery"/>
    /// epochs to <paramref name="checkpointPath"/> (atomically); <see cref="Resume"/> continues from it.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="checkpointPath"/> is empty.</exception>
    public TrainingSummary FitWithCheckpoints(IImageSource normalImages, string checkpointPath, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(normalImages);
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointPath);
        return Train(normalImages, new CheckpointState(), checkpointPath, progress, optimizers: null, cancellationToken);
    }

    /// <summary>
    /// Loads a checkpoint written by <see cref="FitWithCheckpoints"/> and continues training where it
    /// stopped (same options, same data), writing further checkpoints to the same path. The resumed run
    /// repeats the uninterrupted one exactly, keep-best weights included.
    /// </summary>
    /// <exception cref="FileNotFoundException">The checkpoint does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated, fails its checksum or has another format version.</exception>
    public static (AnomalyDetector Detector, TrainingSummary Summary) Resume(
        string checkpointPath, IImageSource normalImages, IProgress<TrainingProgress>? progress = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointPath);
        ArgumentNullException.ThrowIfNull(normalImages);
        if (!File.Exists(checkpointPath))
        {
            throw new FileNotFoundException($"Checkpoint file '{checkpointPath}' does not exist.", checkpointPath);
        }

        string name = $"'{checkpointPath}'";
        using var file = File.OpenRead(checkpointPath);
        using var stream = ModelFile.Verify(file, name);
        using var reader = new BinaryReader(stream);
        var header = ModelFile.ReadHeader(reader, name);
        if (header.Checkpoint is null)
        {
            throw new InvalidDataException($"{name} is a model, not a training checkpoint.");
        }

        var detector = new AnomalyDetector(header.Options, logger);
        try
        {
            var optG = detector.CreateGeneratorOptimizer();
            var optD = detector.CreateDiscriminatorOptimizer();
            var best = ModelFile.ReadBody(reader, name, header, detector.generator, detector.discriminator, optG, optD);
            header.Checkpoint.ReplaceBestWeights(best);
            var summary = detector.Train(normalImages, header.Checkpoint, checkpointPath, progress, (optG, optD), cancellationToken);
            return (detector, summary);
        }
        catch
        {
            header.Checkpoint.ReplaceBestWeights(null);
            detector.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(Tensor images) => Read(() => scorer.Score(images));

    /// <inheritdoc />
    public AnomalyResult Score(FloatImage image) => Read(() => scorer.Score(image));

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IReadOnlyList<FloatImage> images) => Read(() => scorer.Score(images));

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IImageSource images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        ObjectDisposedException.ThrowIf(disposed, this);
        var reader = new BatchReader(images, Channels, ImageSize);
        var results = new List<AnomalyResult>(images.Count);
        foreach (var batch in reader.Batches(Enumerable.Range(0, images.Count).ToArray(), options.Training.BatchSize, cancellationToken))
        {
            using var scope = NewDisposeScope();
            var x = reader.ToTensor(batch.Data, CPU);
            results.AddRange(Read(() => scorer.Score(x)));
        }

        return results;
    }

    /// <inheritdoc />
    public ScoreCalibration Calibrate(IImageSource normalImages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(normalImages);
        return Write(() => scorer.Calibrate(normalImages, cancellationToken));
    }

    /// <inheritdoc />
    public void UseCalibration(ScoreCalibration calibration)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        Write(() =>
        {
            scorer.UseCalibration(calibration);
            return 0;
        });
    }

    /// <summary>
    /// Changes the scoring options (pooling, smoothing, residual filter, target rates) and recalibrates
    /// on <paramref name="normalImages"/> (ideally ones training held back, see <see cref="HeldOutIndices"/>):
    /// new scoring options change R(x), so the old calibration no longer applies.
    /// </summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The scoring options are invalid.</exception>
    /// <exception cref="ArgumentException">The source is empty.</exception>
    public ScoreCalibration ChangeScoring(ScoringOptions scoring, IImageSource normalImages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scoring);
        ArgumentNullException.ThrowIfNull(normalImages);
        var candidate = options.Clone();
        candidate.Scoring = scoring.Clone();
        DaadOptionsValidator.ThrowIfInvalid(candidate);
        return Write(() =>
        {
            var next = new AnomalyScorer(generator, discriminator, candidate);
            var calibration = next.Calibrate(normalImages, cancellationToken);
            scorer = next;
            options.Scoring = candidate.Scoring;
            return calibration;
        });
    }

    /// <summary>Returns the mean addressing entropy over log N of every memory scale on (up to a batch of) <paramref name="images"/>: 1 means reads are the bank's average, values near 0 mean each block reads a few items.</summary>
    public IReadOnlyDictionary<int, double> AddressingEntropy(IImageSource images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var reader = new BatchReader(images, Channels, ImageSize);
        var batch = Enumerable.Range(0, Math.Min(images.Count, options.Training.BatchSize)).ToArray();
        var result = new Dictionary<int, double>();
        if (batch.Length == 0)
        {
            return result;
        }

        return Read(() =>
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = reader.ToTensor(reader.ReadFloats(batch), device);
            foreach (var (scale, weights) in generator.Address(x))
            {
                result[scale] = BlockMemory.AddressingEntropy(weights) / Math.Log(options.Network.MemoryItems);
            }

            return result;
        });
    }

    /// <summary>
    /// Exports the trained, calibrated model as one ONNX file (opset 17, IR version 8) that ONNX Runtime,
    /// OpenVINO or TensorRT run without libtorch: input <c>images</c> <c>[N, C, S, S]</c> in [-1, 1];
    /// outputs <c>scores</c> (the calibrated A(x)), the raw <c>R</c> and (DAAD+) <c>L</c>, <c>maps</c>
    /// <c>[N, S, S]</c> and <c>reconstructions</c>; metadata with the options, calibration, thresholds and
    /// the preprocessing contract (docs/deployment.md). Weights above 1 GiB go to an external data file
    /// beside the model (named after its content). The file is written atomically.
    /// </summary>
    /// <param name="path">The <c>.onnx</c> file to write.</param>
    /// <returns>The files written: the model, and its external data file when there is one.</returns>
    /// <exception cref="InvalidOperationException">The detector is untrained or uncalibrated.</exception>
    public IReadOnlyList<string> ExportOnnx(string path) => ExportOnnx(path, OnnxExporter.DefaultExternalThreshold);

    /// <summary>Exports as <see cref="ExportOnnx(string)"/> with weights above <paramref name="externalThreshold"/> bytes in external data (tests use a small threshold).</summary>
    internal IReadOnlyList<string> ExportOnnx(string path, long externalThreshold)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Read(() =>
        {
            if (!trained || Calibration is not { } calibration)
            {
                throw new InvalidOperationException(!trained
                    ? "Only a trained detector can be exported: call Fit, or load a trained model file, first."
                    : "The detector has no calibration to export: call Calibrate with normal images first.");
            }

            return OnnxExporter.Export(path, generator, discriminator, options, calibration, GeneratorParameterCount, DiscriminatorParameterCount, externalThreshold, Selection);
        });
    }

    /// <summary>Returns the indices of the normal images that training holds back (for validation and calibration) from a source of <paramref name="count"/> images.</summary>
    public IReadOnlyList<int> HeldOutIndices(int count) => DaadTrainer.Split(count, options.Training.ValidationFraction, options.Seed).Validation;

    /// <inheritdoc />
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ObjectDisposedException.ThrowIf(disposed, this);
        AtomicFile.Write(path, Save);
    }

    /// <inheritdoc />
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Read(() =>
        {
            ModelFile.Write(stream, new ModelHeader { Options = options.Clone(), Calibration = Calibration, Trained = trained, Selection = Selection }, generator, discriminator);
            return 0;
        });
    }

    /// <summary>Loads a model file onto the device it was saved for.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a model, is truncated, fails its checksum, holds invalid options, or has a format version this library does not read; the message names the file.</exception>
    public static AnomalyDetector Load(string path) => Load(path, null, null);

    /// <summary>Loads a model file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="device">The device to load onto (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>); <see langword="null"/> keeps the saved one.</param>
    /// <param name="logger">A logger, or <see langword="null"/>.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a model, is truncated, fails its checksum, holds invalid options, or has a format version this library does not read; the message names the file.</exception>
    public static AnomalyDetector Load(string path, string? device, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        using var stream = File.OpenRead(path);
        return Load(stream, device, logger, $"'{path}'");
    }

    /// <summary>Loads a model from a stream, on the device it was saved for.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a complete model of a readable format version.</exception>
    public static AnomalyDetector Load(Stream stream) => Load(stream, null, null, "The model stream");

    /// <summary>Loads a model from a stream onto <paramref name="device"/> (<see langword="null"/> keeps the saved one).</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a complete model of a readable format version.</exception>
    public static AnomalyDetector Load(Stream stream, string? device, ILogger? logger) => Load(stream, device, logger, "The model stream");

    /// <inheritdoc />
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        gate.EnterWriteLock();
        try
        {
            disposed = true;
            generator.Dispose();
            discriminator?.Dispose();
        }
        finally
        {
            gate.ExitWriteLock();
        }

        gate.Dispose();
    }

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
            ModelFile.ReadBody(reader, name, header, detector.generator, detector.discriminator);
            if (header.Calibration is { } calibration)
            {
                detector.scorer.UseCalibration(calibration);
            }

            detector.trained = header.Trained ?? header.Calibration is not null;
            detector.Selection = header.Selection;
            return detector;
        }
        catch
        {
            detector.Dispose();
            throw;
        }
    }

    private AdamOptimizer CreateGeneratorOptimizer() => new(
        generator.parameters(), options.Training.LearningRate, options.Training.Beta1, options.Training.Beta2, options.Training.WeightDecay);

    private AdamOptimizer? CreateDiscriminatorOptimizer() => discriminator is null ? null : new(
        discriminator.parameters(), options.Training.DiscriminatorLearningRate, options.Training.Beta1, options.Training.Beta2, options.Training.WeightDecay);

    private TrainingSummary Train(IImageSource images, CheckpointState state, string? checkpointPath, IProgress<TrainingProgress>? progress, (AdamOptimizer G, AdamOptimizer? D)? optimizers, CancellationToken cancellationToken)
    {
        if (images.Count == 0)
        {
            throw new ArgumentException("The image source holds no images to train on.", nameof(images));
        }

        return Write(() =>
        {
            var optG = optimizers?.G ?? CreateGeneratorOptimizer();
            var optD = optimizers is { } o ? o.D : CreateDiscriminatorOptimizer();
            try
            {
                var (train, validation) = DaadTrainer.Split(images.Count, options.Training.ValidationFraction, options.Seed);
                var run = new TrainingRun
                {
                    Options = options,
                    Generator = generator,
                    Discriminator = discriminator,
                    GeneratorOptimizer = optG,
                    DiscriminatorOptimizer = optD,
                    Device = device,
                    Reader = new BatchReader(images, Channels, ImageSize),
                    TrainIndices = train,
                    ValidationIndices = validation,
                    State = state,
                    Logger = logger,
                    StartEpoch = state.EpochsCompleted,
                    InitialiseMemories = !trained && state.EpochsCompleted == 0 && options.Network.HasMemory && options.EffectiveMemoryInit() == MemoryInit.Samples,
                };
                var callbacks = new List<ITrainingCallback> { new ValidationLossCallback(), new BestEpochCallback(), new EarlyStoppingCallback() };
                if (checkpointPath is not null)
                {
                    callbacks.Add(new CheckpointCallback(checkpointPath, s => new ModelHeader { Options = options.Clone(), Calibration = Calibration, Checkpoint = s, Trained = true }));
                }

                callbacks.Add(new ProgressCallback(progress));
                callbacks.Add(new CalibrationCallback(scorer));
                var trainer = new DaadTrainer(run, callbacks);
                try
                {
                    return trainer.Run(cancellationToken);
                }
                finally
                {
                    trained |= run.StepsDone > 0 || state.EpochsCompleted > 0;
                }
            }
            finally
            {
                state.ReplaceBestWeights(null);
                optG.Dispose();
                optD?.Dispose();
            }
        });
    }

    private T Read<T>(Func<T> action)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        gate.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return action();
        }
        finally
        {
            gate.ExitReadLock();
        }
    }

    private T Write<T>(Func<T> action)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        gate.EnterWriteLock();
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return action();
        }
        finally
        {
            gate.ExitWriteLock();
        }
    }
}
