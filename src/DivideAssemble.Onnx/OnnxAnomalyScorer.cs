using Microsoft.ML.OnnxRuntime;

namespace DivideAssemble.Onnx;

/// <summary>
/// Scores with a model exported by <c>AnomalyDetector.ExportOnnx</c>, on ONNX Runtime — no TorchSharp, no
/// libtorch. It offers the same <see cref="IAnomalyScorer"/> as the TorchSharp detector: images of any
/// size go through the same <see cref="ImagePreprocessing"/>, raw scores and maps come from the graph,
/// and results are built by <see cref="AnomalyResult.FromRaw"/> with the calibration in force (the one
/// stored in the file until <see cref="Calibrate"/> or <see cref="UseCalibration"/> replaces it).
/// </summary>
/// <remarks>
/// Thread safety: <see cref="Score(IReadOnlyList{FloatImage})"/> and the other scoring calls may run on
/// many threads at once (ONNX Runtime's session is safe for concurrent runs; each call has its own
/// buffers). Replacing the calibration swaps one reference: a call that is under way finishes with the
/// calibration it started with.
/// </remarks>
public sealed class OnnxAnomalyScorer : IAnomalyScorer, IDisposable
{
    private readonly InferenceSession session;
    private readonly OnnxModelFile file;
    private readonly string[] outputNames;
    private readonly ScoringOptions scoring;
    private volatile ScoreCalibration calibration;
    private bool disposed;

    private OnnxAnomalyScorer(OnnxModelFile file, InferenceSession session, string path)
    {
        this.file = file;
        this.session = session;
        calibration = file.Calibration;
        Path = path;
        outputNames = session.OutputNames.ToArray();
        scoring = file.Options.Scoring.Clone();
        scoring.MemoryWeight = file.Options.EffectiveMemoryWeight();
        scoring.HeadWeight = file.Options.EffectiveHeadWeight();
    }

    /// <summary>Gets the model file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public DaadOptions Options => file.Options.Clone();

    /// <inheritdoc />
    public int ImageSize => file.Options.Network.ImageSize;

    /// <inheritdoc />
    public int Channels => file.Options.Network.ResolvedChannels;

    /// <inheritdoc />
    public ScoreCalibration? Calibration => calibration;

    /// <summary>Gets the calibration the file was exported with.</summary>
    public ScoreCalibration ExportedCalibration => file.Calibration;

    /// <summary>Gets the version of the library that exported the model.</summary>
    public string ExporterVersion => file.LibraryVersion;

    /// <summary>Gets the learnable parameters of the trained generator (from the file's metadata).</summary>
    public long GeneratorParameterCount => file.GeneratorParameters;

    /// <summary>Gets the learnable parameters of the trained discriminator (0 without one).</summary>
    public long DiscriminatorParameterCount => file.DiscriminatorParameters;

    /// <summary>Gets the learnable parameters of the trained discriminative head (0 without one).</summary>
    public long HeadParameterCount => file.HeadParameters;

    /// <summary>Gets every metadata entry of the file.</summary>
    public IReadOnlyDictionary<string, string> Metadata => file.Metadata;

    /// <summary>Loads an exported model onto the CPU with ONNX Runtime's default threads.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an intact model exported by DivideAssemble (the message names the file and the field), or ONNX Runtime refuses it.</exception>
    public static OnnxAnomalyScorer Load(string path) => Load(path, null, 0);

    /// <summary>Loads an exported model.</summary>
    /// <param name="path">The <c>.onnx</c> file (its external data file, if any, beside it).</param>
    /// <param name="device">The execution provider: <c>cpu</c> (or <see langword="null"/>), <c>cuda</c>, <c>cuda:N</c>, <c>dml</c>, <c>dml:N</c>, <c>openvino</c>; the native ONNX Runtime package the application references must include it.</param>
    /// <param name="intraOpThreads">Threads of one inference (0: ONNX Runtime's default).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an intact model exported by DivideAssemble, or ONNX Runtime refuses it.</exception>
    /// <exception cref="ArgumentException">The device is unknown, or its execution provider is not in the native package.</exception>
    public static OnnxAnomalyScorer Load(string path, string? device, int intraOpThreads)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(intraOpThreads);
        var file = OnnxModelFile.Read(path);
        using var sessionOptions = new SessionOptions();
        sessionOptions.IntraOpNumThreads = intraOpThreads;
        sessionOptions.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL;
        AddProvider(sessionOptions, device);
        InferenceSession session;
        try
        {
            session = new InferenceSession(path, sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load '{path}': {ex.Message}", ex);
        }

        try
        {
            OnnxSignature.Check(file, session);
            return new OnnxAnomalyScorer(file, session, path);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Describes the scorer in one line: its file, options and threshold.</summary>
    /// <returns>The line.</returns>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"OnnxAnomalyScorer '{Path}': {file.Options}; threshold {calibration.Threshold:G5}");

    /// <summary>Returns the model's description, as <c>daad info</c> prints it for a <c>.daad</c> file.</summary>
    public string Summary() => ModelSummary.Describe(file.Options, file.GeneratorParameters, file.DiscriminatorParameters, calibration, file.Selection);

    /// <inheritdoc />
    public AnomalyResult Score(FloatImage image) => Score(new[] { image ?? throw new ArgumentNullException(nameof(image)) })[0];

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IReadOnlyList<FloatImage> images) => Score(ModelInput.FromImages(images, Channels, ImageSize), images.Count, calibration);

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IImageSource images, CancellationToken cancellationToken = default)
    {
        var current = calibration;
        return ModelInput.ScoreAll(images, Channels, ImageSize, file.Options.Training.BatchSize, (data, count) => Score(data, count, current), cancellationToken);
    }

    /// <inheritdoc />
    public ScoreCalibration Calibrate(IImageSource normalImages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(normalImages);
        if (normalImages.Count == 0)
        {
            throw new ArgumentException("Calibration needs at least one normal image.", nameof(normalImages));
        }

        var results = Score(normalImages, cancellationToken);
        // A multi-scale residual's normalisers and the head map's scale are constants of the exported graph: they stay those of the file.
        var measured = ScoreCalibration.Measure(results, scoring, heldOut: true) with { ResidualNormalisers = file.Calibration.ResidualNormalisers, HeadMapScale = file.Calibration.HeadMapScale };
        calibration = measured;
        return measured;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The model uses a multi-scale residual and <paramref name="calibration"/>'s normalisers differ from the ones baked into the graph.</exception>
    public void UseCalibration(ScoreCalibration calibration)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        var baked = file.Calibration.ResidualNormalisers;
        if (baked is not null && (calibration.ResidualNormalisers is null || !calibration.ResidualNormalisers.SequenceEqual(baked)))
        {
            throw new ArgumentException(
                "The exported graph divides its residual scales by the normalisers of the calibration it was exported with; a calibration with other ResidualNormalisers cannot apply. Export again from a recalibrated .daad model.",
                nameof(calibration));
        }

        if (!Nullable.Equals(calibration.HeadMapScale, file.Calibration.HeadMapScale))
        {
            throw new ArgumentException(
                "The exported graph mixes the head's map into the residual's with the HeadMapScale of the calibration it was exported with; a calibration with another HeadMapScale cannot apply. Export again from a recalibrated .daad model.",
                nameof(calibration));
        }

        this.calibration = calibration;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            session.Dispose();
        }
    }

    /// <summary>Runs the graph on <paramref name="count"/> model-ready images; returns raw scores per image and the graph's own calibrated scores.</summary>
    internal (IReadOnlyList<RawScore> Raw, float[] Scores) Run(float[] batch, int count)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        int c = Channels, s = ImageSize;
        ModelInput.ThrowIfNotFinite(ModelInput.FiniteImages(batch.AsSpan(0, count * c * s * s), count), "images");
        ModelInput.ThrowIfOutOfRange(ModelInput.Ranges(batch.AsSpan(0, count * c * s * s), count), "images");
        using var input = OrtValue.CreateTensorValueFromMemory(batch, new long[] { count, c, s, s });
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, new[] { ModelMetadata.InputName }, new[] { input }, outputNames);
        float[] Output(string name) => outputs[Array.IndexOf(outputNames, name)].GetTensorDataAsSpan<float>().ToArray();
        var scores = Output(ModelMetadata.ScoresOutput);
        var r = Output(ModelMetadata.ReconstructionErrorOutput);
        var l = file.Options.Network.HasDiscriminator ? Output(ModelMetadata.AlignmentErrorOutput) : null;
        var m = scoring.MemoryWeight > 0 ? Output(ModelMetadata.MemoryDistanceOutput) : null;
        var h = scoring.HeadWeight > 0 ? Output(ModelMetadata.HeadScoreOutput) : null;
        var maps = Output(ModelMetadata.MapsOutput);
        var recon = Output(ModelMetadata.ReconstructionsOutput);
        var raw = new RawScore[count];
        for (int i = 0; i < count; i++)
        {
            raw[i] = new RawScore(r[i], l?[i], maps.AsSpan(i * s * s, s * s).ToArray(), recon.AsSpan(i * c * s * s, c * s * s).ToArray(), s, c) { MemoryDistance = m?[i], HeadScore = h?[i] };
        }

        return (raw, scores);
    }

    private List<AnomalyResult> Score(float[] data, int count, ScoreCalibration current) =>
        Run(data, count).Raw.Select(r => AnomalyResult.FromRaw(r, current, scoring)).ToList();

    private static void AddProvider(SessionOptions options, string? device)
    {
        string name = (device ?? "cpu").Trim().ToLowerInvariant();
        int index = 0;
        int colon = name.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0)
        {
            if (!int.TryParse(name[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index))
            {
                throw new ArgumentException($"Device '{device}' has no valid index after ':'.", nameof(device));
            }

            name = name[..colon];
        }

        try
        {
            switch (name)
            {
                case "cpu":
                    break;
                case "cuda":
                    options.AppendExecutionProvider_CUDA(index);
                    break;
                case "dml" or "directml":
                    options.AppendExecutionProvider_DML(index);
                    break;
                case "openvino":
                    options.AppendExecutionProvider_OpenVINO(colon > 0 ? device![(colon + 1)..] : string.Empty);
                    break;
                default:
                    throw new ArgumentException($"Device '{device}' is not an execution provider this scorer knows; use cpu, cuda[:N], dml[:N] or openvino.", nameof(device));
            }
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            throw new ArgumentException($"The '{name}' execution provider is not available: reference the native ONNX Runtime package that has it (for CUDA, Microsoft.ML.OnnxRuntime.Gpu) and check the driver. ({ex.Message})", nameof(device), ex);
        }
    }
}
