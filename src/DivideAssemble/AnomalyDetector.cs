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
    private readonly ModelNetworks networks;
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
        net.HeadWidth ??= net.ResolvedHeadWidth;
        this.options.Training.Restoration ??= this.options.EffectiveRestoration();
        networks = TorchRandom.WithSeed(this.options.Seed, () => ModelNetworks.Build(net));
        networks.To(device);
        networks.Train(false);
        scorer = new AnomalyScorer(generator, discriminator, head, this.options);
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

    /// <summary>Gets the discriminative head, for the library's tests and benchmarks only.</summary>
    internal DiscriminativeHead? Head => head;

    /// <summary>Gets the number of learnable parameters of the discriminative head (0 without one).</summary>
    public long HeadParameterCount => head?.parameters().Sum(p => p.numel()) ?? 0;

    private DaadGenerator generator => networks.Generator;

    private DcganDiscriminator? discriminator => networks.Discriminator;

    private DiscriminativeHead? head => networks.Head;

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

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(Tensor images) => Read(() => scorer.Score(images));

    /// <inheritdoc />
    public AnomalyResult Score(FloatImage image) => Read(() => scorer.Score(image));

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IReadOnlyList<FloatImage> images) => Read(() => scorer.Score(images));

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IImageSource images, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return ModelInput.ScoreAll(images, Channels, ImageSize, options.Training.BatchSize, (data, count) => Read(() => scorer.Score(data, count)), cancellationToken);
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
        ScoringRules.ThrowIfInvalid(candidate);
        return Write(() =>
        {
            var next = new AnomalyScorer(generator, discriminator, head, candidate);
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
        if (batch.Length == 0)
        {
            return new Dictionary<int, double>();
        }

        return Read(() =>
        {
            using var scope = NewDisposeScope();
            return generator.AddressingEntropy(reader.ToTensor(reader.ReadFloats(batch), device));
        });
    }

    /// <summary>
    /// Pools the maps of every image of <paramref name="images"/> with each scoring of <paramref name="variants"/>
    /// (which differ from the detector's in pooling only), from one scoring pass: per variant the raw R of
    /// every image (and with a discriminative head the raw H), and L and M when the score uses them.
    /// <paramref name="onMaps"/> receives each image's index, its residual map, its head map (or
    /// <see langword="null"/>) and the side.
    /// </summary>
    internal PooledScores ScorePoolings(IImageSource images, IReadOnlyList<ScoringOptions> variants, Action<int, float[], float[]?, int>? onMaps, CancellationToken cancellationToken) => Read(() =>
    {
        var methods = variants.Select(v => ScoringMethods.Current.Pooling(v.Pooling)).ToList();
        var reader = new BatchReader(images, Channels, ImageSize);
        var scores = new PooledScores(variants.Count, images.Count, discriminator is not null, options.EffectiveMemoryWeight() > 0, head is not null);
        int size = ImageSize;
        foreach (var batch in reader.Batches(Enumerable.Range(0, images.Count).ToArray(), options.Training.BatchSize, cancellationToken))
        {
            using var scope = NewDisposeScope();
            var maps = scorer.ComputeMaps(reader.ToTensor(batch.Data, CPU), Calibration?.ResidualNormalisers, withHead: head is not null);
            for (int v = 0; v < variants.Count; v++)
            {
                scores.Add(scores.Reconstruction[v], batch.Indices, methods[v].Pool(maps.Raw, maps.Smoothed, variants[v]));
                if (maps.Head is not null)
                {
                    scores.Add(scores.Head![v], batch.Indices, methods[v].Pool(maps.Head, maps.HeadSmoothed!, variants[v]));
                }
            }

            scores.Add(scores.Alignment, batch.Indices, maps.Alignment);
            scores.Add(scores.Memory, batch.Indices, maps.MemoryDistance);
            if (onMaps is not null)
            {
                var residual = maps.Smoothed.to(float32).cpu().contiguous().data<float>().ToArray();
                var headMaps = maps.HeadSmoothed?.to(float32).cpu().contiguous().data<float>().ToArray();
                for (int k = 0; k < batch.Indices.Count; k++)
                {
                    onMaps(batch.Indices[k], residual.AsSpan(k * size * size, size * size).ToArray(), headMaps?.AsSpan(k * size * size, size * size).ToArray(), size);
                }
            }
        }

        return scores;
    });

    /// <summary>Puts back scoring options and a calibration taken from this detector earlier (no recalibration).</summary>
    internal void RestoreScoring(ScoringOptions scoring, ScoreCalibration? calibration)
    {
        var restored = options.Clone();
        restored.Scoring = scoring.Clone();
        Write(() =>
        {
            scorer = new AnomalyScorer(generator, discriminator, head, restored, calibration);
            options.Scoring = restored.Scoring;
            return 0;
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

            return OnnxExporter.Export(path, networks, options, calibration, GeneratorParameterCount, DiscriminatorParameterCount, HeadParameterCount, externalThreshold, Selection);
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
            networks.Dispose();
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
            using var owned = optimizers ?? Optimizers.For(options.Training, networks);
            try
            {
                var (train, validation) = DaadTrainer.Split(images.Count, options.Training.ValidationFraction, options.Seed);
                var run = new TrainingRun
                {
                    Options = options,
                    Networks = networks,
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
                var trainer = new DaadTrainer(run, DaadTrainer.Callbacks(checkpointPath, header, progress, scorer));
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

/// <summary>What <see cref="AnomalyDetector.ScorePoolings"/> returns: per scoring variant the raw R (and H) of every image, and L and M when the score uses them.</summary>
internal sealed class PooledScores
{
    public PooledScores(int variants, int images, bool alignment, bool memory, bool head)
    {
        Reconstruction = Enumerable.Range(0, variants).Select(_ => new double[images]).ToList();
        Head = head ? Enumerable.Range(0, variants).Select(_ => new double[images]).ToList() : null;
        Alignment = alignment ? new double[images] : null;
        Memory = memory ? new double[images] : null;
    }

    public IReadOnlyList<double[]> Reconstruction { get; }

    public IReadOnlyList<double[]>? Head { get; }

    public double[]? Alignment { get; }

    public double[]? Memory { get; }

    /// <summary>Copies a batch's values <c>[B]</c> into <paramref name="into"/> at the batch's image indices.</summary>
    public void Add(double[]? into, IReadOnlyList<int> indices, Tensor? values)
    {
        if (into is null || values is null)
        {
            return;
        }

        var data = values.to(float64).cpu().data<double>().ToArray();
        for (int k = 0; k < indices.Count; k++)
        {
            into[indices[k]] = data[k];
        }
    }
}
