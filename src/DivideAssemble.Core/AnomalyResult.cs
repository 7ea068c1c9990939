namespace DivideAssemble;

/// <summary>The outcome of scoring one image.</summary>
public sealed record AnomalyResult
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Print(this, builder);

    /// <summary>Gets the combined anomaly score A(x) (eq. 7, normalised; higher is more anomalous).</summary>
    public required double Score { get; init; }

    /// <summary>Gets the raw reconstruction score R(x), pooled from the anomaly map.</summary>
    public required double ReconstructionError { get; init; }

    /// <summary>Gets the raw alignment error L(x) (DAAD+ only; <see langword="null"/> otherwise).</summary>
    public double? AlignmentError { get; init; }

    /// <summary>
    /// Gets the raw memory distance M(x): the mean over the finest memory scale's blocks of
    /// <c>1 − max_i cos(q, m_i)</c> (<see langword="null"/> when the score does not use it, see
    /// <see cref="ScoringOptions.MemoryWeight"/>).
    /// </summary>
    public double? MemoryDistance { get; init; }

    /// <summary>
    /// Gets the raw head score H(x): the discriminative head's anomaly map pooled as R is (<see langword="null"/>
    /// when the model has no head or the score does not use it, see <see cref="ScoringOptions.HeadWeight"/>).
    /// </summary>
    public double? HeadScore { get; init; }

    /// <summary>Gets the image threshold the decision used (<see cref="double.NaN"/> when the model is not calibrated).</summary>
    public required double Threshold { get; init; }

    /// <summary>Gets a value indicating whether <see cref="Score"/> exceeds <see cref="Threshold"/>.</summary>
    public required bool IsAnomalous { get; init; }

    /// <summary>Gets the side of the (square) anomaly map, mask and reconstruction, in pixels.</summary>
    public required int Size { get; init; }

    /// <summary>Gets the number of channels of <see cref="Reconstruction"/>.</summary>
    public required int Channels { get; init; }

    /// <summary>Gets the per-pixel anomaly map, row-major: the discriminative head's anomaly probability when the score uses the head, else the channel-mean squared residual; smoothed if configured.</summary>
    public required float[] AnomalyMap { get; init; }

    /// <summary>Gets the reconstruction, channel-major, values in [-1, 1].</summary>
    public required float[] Reconstruction { get; init; }

    /// <summary>Gets the binary defect mask (map above the pixel threshold), row-major.</summary>
    public required bool[] DefectMask { get; init; }

    /// <summary>Gets the connected regions of <see cref="DefectMask"/>, largest first.</summary>
    public required IReadOnlyList<DefectRegion> Regions { get; init; }

    /// <summary>
    /// Turns a model's raw output for one image into a result: the calibrated score of eq. 7, the
    /// decision at the image threshold, the defect mask at the pixel threshold and its regions. Every
    /// backend builds its results here, so the TorchSharp detector and the ONNX Runtime scorer decide alike.
    /// </summary>
    /// <param name="raw">The raw scores, map and reconstruction.</param>
    /// <param name="calibration">The calibration, or <see langword="null"/> (the score is then the raw R and nothing is flagged).</param>
    /// <param name="scoring">The scoring options (γ and a manual threshold, if any).</param>
    /// <exception cref="ArgumentException">The map or reconstruction does not match the size and channels.</exception>
    internal static AnomalyResult FromRaw(RawScore raw, ScoreCalibration? calibration, ScoringOptions scoring)
    {
        ArgumentNullException.ThrowIfNull(raw);
        ArgumentNullException.ThrowIfNull(scoring);
        int size = raw.Size;
        if (raw.AnomalyMap.Length != size * size || raw.Reconstruction.Length != raw.Channels * size * size)
        {
            throw new ArgumentException($"A {raw.Channels}×{size}×{size} result needs a map of {size * size} values and a reconstruction of {raw.Channels * size * size}; got {raw.AnomalyMap.Length} and {raw.Reconstruction.Length}.", nameof(raw));
        }

        double headWeight = scoring.HeadWeight ?? (raw.HeadScore is null ? 0 : ScoringOptions.DefaultHeadWeight);
        double score = calibration?.Combine(raw.ReconstructionError, raw.AlignmentError, raw.MemoryDistance, raw.HeadScore, scoring.Gamma, scoring.MemoryWeight ?? ScoringOptions.DefaultMemoryWeight, headWeight)
            ?? (raw.HeadScore is { } h && headWeight > 0 ? h : raw.ReconstructionError);
        double threshold = scoring.Threshold ?? calibration?.Threshold ?? double.NaN;
        double pixelThreshold = calibration?.PixelThreshold ?? double.PositiveInfinity;
        // Both maps: mixed as the score mixes its terms once a calibration says how; else (being calibrated, or a
        // calibration from before maps were mixed) the head's, as it always was for w > 0.
        var map = raw.HeadMap is not { } headMap ? raw.AnomalyMap
            : calibration?.HeadMapScale is not null ? calibration.MixMaps(raw.AnomalyMap, headMap, headWeight)
            : headMap;
        var mask = new bool[map.Length];
        for (int p = 0; p < map.Length; p++)
        {
            mask[p] = map[p] > pixelThreshold;
        }

        return new AnomalyResult
        {
            Score = score,
            ReconstructionError = raw.ReconstructionError,
            AlignmentError = raw.AlignmentError,
            MemoryDistance = raw.MemoryDistance,
            HeadScore = raw.HeadScore,
            Threshold = threshold,
            IsAnomalous = !double.IsNaN(threshold) && score > threshold,
            Size = size,
            Channels = raw.Channels,
            AnomalyMap = map,
            Reconstruction = raw.Reconstruction,
            DefectMask = mask,
            Regions = ConnectedComponents.Regions(mask, map, size),
        };
    }
}

/// <summary>A model's raw output for one image, before calibration.</summary>
/// <param name="ReconstructionError">R(x), pooled from the anomaly map.</param>
/// <param name="AlignmentError">L(x) (DAAD+), else <see langword="null"/>.</param>
/// <param name="AnomalyMap">The anomaly map, row-major, <paramref name="Size"/>×<paramref name="Size"/>.</param>
/// <param name="Reconstruction">The reconstruction, channel-major, values in [-1, 1].</param>
/// <param name="Size">The side of the map and reconstruction.</param>
/// <param name="Channels">The channels of the reconstruction.</param>
internal sealed record RawScore(double ReconstructionError, double? AlignmentError, float[] AnomalyMap, float[] Reconstruction, int Size, int Channels)
{
    /// <summary>Gets M(x), the memory distance, when the score uses it (<see cref="AnomalyResult.MemoryDistance"/>); else <see langword="null"/>.</summary>
    public double? MemoryDistance { get; init; }

    /// <summary>Gets H(x), the head score, when the score uses it (<see cref="AnomalyResult.HeadScore"/>); else <see langword="null"/>.</summary>
    public double? HeadScore { get; init; }

    /// <summary>
    /// Gets the head's smoothed probability map when a head weight 0 &lt; w &lt; 1 mixes it with <see cref="AnomalyMap"/>
    /// (then the residual's; <see cref="ScoreCalibration.MixMaps"/>); <see langword="null"/> when <see cref="AnomalyMap"/>
    /// is already the map of results (one term's, or mixed by an exported graph).
    /// </summary>
    public float[]? HeadMap { get; init; }
}

/// <summary>A connected region of a defect mask (8-connectivity).</summary>
/// <param name="X">Left edge of the bounding box.</param>
/// <param name="Y">Top edge of the bounding box.</param>
/// <param name="Width">Width of the bounding box.</param>
/// <param name="Height">Height of the bounding box.</param>
/// <param name="Area">Number of pixels in the region.</param>
/// <param name="PeakScore">Highest anomaly-map value in the region.</param>
public sealed record DefectRegion(int X, int Y, int Width, int Height, int Area, double PeakScore);
