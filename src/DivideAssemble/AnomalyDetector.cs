using DivideAssemble.Data;
using DivideAssemble.Export;
using DivideAssemble.Modules;
using DivideAssemble.Persistence;
using DivideAssemble.Scoring;
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
public sealed partial class AnomalyDetector : IAnomalyDetector
{
    private readonly DaadOptions options;
    private ModelNetworks? networks;
    private readonly Device device;
    private readonly ILogger logger;
    private readonly ReaderWriterLockSlim gate = new(LockRecursionPolicy.NoRecursion);
    private AnomalyScorer? scorer;
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
        ScoringRules.ThrowIfInvalid(options);
        this.options = options.Clone();
        this.logger = logger ?? NullLogger.Instance;
        device = new Device(this.options.Device);
        if (device.type == DeviceType.CUDA && !cuda.is_available())
        {
            throw new InvalidOperationException($"Device '{this.options.Device}' was requested but CUDA is not available: reference a CUDA backend package (for example TorchSharp-cuda-windows) and check the driver.");
        }

        // Settings left to the image size and channels are fixed here, so the model file records the ones trained.
        var net = this.options.Network;
        net.HeightRatio ??= net.ResolvedHeightRatio;
        net.WidthRatio ??= net.ResolvedWidthRatio;
        this.options.Training.Restoration ??= this.options.EffectiveRestoration();
        if (net.Channels is not null)
        {
            BuildNetworks();
        }
    }

    /// <summary>Gets a value indicating whether the networks exist: they wait for the training images when <see cref="NetworkOptions.Channels"/> is unset.</summary>
    internal bool IsBuilt => networks is not null;

    /// <inheritdoc />
    public DaadOptions Options => options.Clone();

    /// <inheritdoc />
    public ScoreCalibration? Calibration => scorer?.Calibration;

    /// <inheritdoc />
    public bool IsTrained => trained;

    /// <inheritdoc />
    public int ImageSize => options.Network.ImageSize;

    /// <inheritdoc />
    /// <remarks>0 until the channels are known: an unset <see cref="NetworkOptions.Channels"/> comes from the training images when <see cref="Fit"/> first runs.</remarks>
    public int Channels => options.Network.Channels ?? 0;

    /// <summary>Gets the geometry of every scale: feature-map sizes, effective division ratios, capping.</summary>
    public IReadOnlyList<ScalePlan> Scales => options.Network.PlanScales();

    /// <summary>Gets the number of learnable parameters of the generator (memories included).</summary>
    public long GeneratorParameterCount => networks?.Generator.parameters().Sum(p => p.numel()) ?? 0;

    /// <summary>Gets the number of learnable parameters of the discriminator (0 without one).</summary>
    public long DiscriminatorParameterCount => networks?.Discriminator?.parameters().Sum(p => p.numel()) ?? 0;

    /// <summary>Gets the generator, for the library's tests and benchmarks only (users read <see cref="Scales"/> and the parameter counts).</summary>
    internal DaadGenerator Generator => generator;

    /// <summary>Gets the discriminator, for the library's tests and benchmarks only.</summary>
    internal DcganDiscriminator? Discriminator => discriminator;

    /// <summary>Gets the discriminative head, for the library's tests and benchmarks only.</summary>
    internal DiscriminativeHead? Head => head;

    /// <summary>Gets the number of learnable parameters of the discriminative head (0 without one).</summary>
    public long HeadParameterCount => networks?.Head?.parameters().Sum(p => p.numel()) ?? 0;

    private ModelNetworks Networks => networks ?? throw NotBuilt();

    private AnomalyScorer Scorer => scorer ?? throw NotBuilt();

    private DaadGenerator generator => Networks.Generator;

    private DcganDiscriminator? discriminator => Networks.Discriminator;

    private DiscriminativeHead? head => Networks.Head;

    /// <summary>Describes the detector in one line: its options, whether it is trained and its threshold.</summary>
    /// <returns>The line.</returns>
    public override string ToString() => disposed
        ? "AnomalyDetector (disposed)"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"AnomalyDetector: {options}; {(trained ? "trained" : "untrained")}, threshold {(Calibration is { } c ? c.Threshold.ToString("G5", System.Globalization.CultureInfo.InvariantCulture) : "none")}");

    /// <summary>Returns a summary of the model: variant, geometry, memories, parameter counts, scoring, calibration and selection (<see cref="ModelSummary"/>).</summary>
    public string Summary() => ModelSummary.Describe(options, GeneratorParameterCount, DiscriminatorParameterCount, Calibration, Selection);

    /// <summary>Gets what model selection tried and chose, when this model came from <see cref="ModelSelection"/> (saved with the model and exported to ONNX metadata); otherwise <see langword="null"/>.</summary>
    public SelectionReport? Selection { get; internal set; }

    /// <summary>
    /// Times <paramref name="steps"/> training steps of this model on its first batch of <paramref name="images"/>
    /// (in seconds each); the steps change the weights, so call it on a throw-away model.
    /// </summary>
    internal double[] TimeTrainingSteps(IImageSource images, int steps, CancellationToken cancellationToken) => Write(() =>
    {
        EnsureBuilt(images);
        var reader = new BatchReader(images, Channels, ImageSize);
        using var batch = reader.ToTensor(reader.ReadFloats(Enumerable.Range(0, Math.Min(images.Count, options.Training.BatchSize)).ToArray()), device);
        return TrainingStep.Time(options, generator, discriminator, head, batch, steps, cancellationToken);
    });

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

            return OnnxExporter.Export(path, Networks, options, calibration, GeneratorParameterCount, DiscriminatorParameterCount, HeadParameterCount, externalThreshold, Selection);
        });
    }

    /// <summary>Returns the indices of the normal images that training holds back (for validation and calibration) from a source of <paramref name="count"/> images.</summary>
    public IReadOnlyList<int> HeldOutIndices(int count) => DaadTrainer.Split(count, options.Training.ValidationFraction, options.Seed).Validation;

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
            networks?.Dispose();
        }
        finally
        {
            gate.ExitWriteLock();
        }

        gate.Dispose();
    }

    private TrainingSummary Train(IImageSource images, CheckpointState state, string? checkpointPath, IProgress<TrainingProgress>? progress, AdamOptimizers? optimizers, CancellationToken cancellationToken)
    {
        if (images.Count < 2)
        {
            throw new ArgumentException(
                images.Count == 0
                    ? "normalImages: the image source holds no images to train on."
                    : "normalImages: the image source holds 1 image; training holds normal images back to calibrate the threshold on and needs at least two.",
                nameof(images));
        }

        return Write(() =>
        {
            EnsureBuilt(images);
            using var owned = optimizers ?? Optimizers.For(options.Training, Networks);
            try
            {
                var (train, validation) = DaadTrainer.Split(images.Count, options.Training.ValidationFraction, options.Seed);
                var run = new TrainingRun
                {
                    Options = options,
                    Networks = Networks,
                    Optimizers = owned,
                    Device = device,
                    Reader = new BatchReader(images, Channels, ImageSize),
                    TrainIndices = train,
                    ValidationIndices = validation,
                    State = state,
                    Logger = logger,
                    StartEpoch = state.EpochsCompleted,
                    InitialiseMemories = !trained && state.EpochsCompleted == 0 && options.Network.HasMemory && options.EffectiveMemoryInit() == MemoryInit.Samples,
                };
                var header = (CheckpointState s) => new ModelHeader { Options = options.Clone(), Calibration = Calibration, Checkpoint = s, Trained = true };
                var trainer = new DaadTrainer(run, DaadTrainer.Callbacks(checkpointPath, header, progress, Scorer));
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
            }
        });
    }

    /// <summary>Builds the networks and the scorer from the options (their channels known).</summary>
    private void BuildNetworks()
    {
        var net = options.Network;
        net.HeadWidth ??= net.ResolvedHeadWidth; // the default depends on the channels, known now
        networks = TorchRandom.WithSeed(options.Seed, () => ModelNetworks.Build(net));
        networks.To(device);
        networks.Train(false);
        scorer = new AnomalyScorer(networks.Generator, networks.Discriminator, networks.Head, options);
        logger.LogDebug("Built {Summary}", networks.Generator.Summary());
    }

    /// <summary>Takes unset channels from the training images (1 grey, 3 colour; 3 when the source cannot tell), then builds the networks.</summary>
    private void EnsureBuilt(IImageSource images)
    {
        if (networks is not null)
        {
            return;
        }

        options.Network.Channels = images.StoredChannels() ?? 3;
        logger.LogInformation("Channels taken from the training images: {Channels}.", options.Network.Channels);
        BuildNetworks();
    }

    private static InvalidOperationException NotBuilt() => new(
        "The detector has no networks yet: NetworkOptions.Channels is unset, so they are built from the training images when Fit first runs. Call Fit, or set the channels (DaadBuilder.WithChannels).");

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
