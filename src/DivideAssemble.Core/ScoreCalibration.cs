namespace DivideAssemble;

/// <summary>
/// Statistics of normal images measured after training: they normalise R and L before eq. 7 mixes
/// them and set the decision thresholds.
/// </summary>
/// <param name="ReconstructionMean">Mean of R(x) over the calibration images.</param>
/// <param name="ReconstructionStd">Standard deviation of R(x) (population, floored at 1e-12).</param>
/// <param name="AlignmentMean">Mean of L(x) (0 without a discriminator).</param>
/// <param name="AlignmentStd">Standard deviation of L(x) (1 without a discriminator).</param>
/// <param name="Threshold">Image threshold on the combined score: its (1 − target FPR) quantile over the calibration images.</param>
/// <param name="PixelThreshold">Anomaly-map threshold: the (1 − pixel FPR) quantile of the calibration images' map values.</param>
/// <param name="ImageCount">Number of normal images the statistics come from.</param>
/// <param name="FromHeldOutImages">Whether those images were held back from training (otherwise training images were used).</param>
public sealed record ScoreCalibration(
    double ReconstructionMean,
    double ReconstructionStd,
    double AlignmentMean,
    double AlignmentStd,
    double Threshold,
    double PixelThreshold,
    int ImageCount,
    bool FromHeldOutImages)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Print(this, builder);

    private const int MaxCalibrationPixels = 4_000_000;

    /// <summary>
    /// Gets the per-scale normalisers of a <see cref="ResidualKind.MultiScale"/> residual: the 99th
    /// percentile of each scale's map over the calibration images' pixels, measured before R and L
    /// (<see langword="null"/> for a single-scale residual).
    /// </summary>
    public IReadOnlyList<double>? ResidualNormalisers { get; init; }

    /// <summary>Gets the mean of the memory distance M(x) over the calibration images (0 when the score does not use it).</summary>
    public double MemoryMean { get; init; }

    /// <summary>Gets the standard deviation of M(x) (population, floored at 1e-12; 1 when the score does not use it).</summary>
    public double MemoryStd { get; init; } = 1;

    /// <summary>Gets the mean of the head score H(x) over the calibration images (0 when the score does not use it).</summary>
    public double HeadMean { get; init; }

    /// <summary>Gets the standard deviation of H(x) (population, floored at 1e-12; 1 when the score does not use it).</summary>
    public double HeadStd { get; init; } = 1;

    /// <summary>
    /// Gets the factor σ_R/σ_H that brings the discriminative head's probability map to the residual map's scale
    /// when a head weight 0 &lt; w &lt; 1 mixes both maps as the score mixes their pooled terms:
    /// <c>map = (1 − w)·residual + w·HeadMapScale·head</c> (<see cref="MixMaps"/>). <see langword="null"/> when the
    /// map is one term's — the residual's at w = 0, the head's probability at w = 1 — and in calibrations measured
    /// before maps were mixed, whose map (and pixel threshold) is the head's for every w &gt; 0.
    /// </summary>
    public double? HeadMapScale { get; init; }

    /// <summary>Compares every statistic, the residual normalisers element by element.</summary>
    /// <param name="other">The calibration to compare with.</param>
    /// <returns>Whether the two calibrations hold the same values.</returns>
    public bool Equals(ScoreCalibration? other) =>
        other is not null
        && ReconstructionMean.Equals(other.ReconstructionMean) && ReconstructionStd.Equals(other.ReconstructionStd)
        && AlignmentMean.Equals(other.AlignmentMean) && AlignmentStd.Equals(other.AlignmentStd)
        && Threshold.Equals(other.Threshold) && PixelThreshold.Equals(other.PixelThreshold)
        && ImageCount == other.ImageCount && FromHeldOutImages == other.FromHeldOutImages
        && MemoryMean.Equals(other.MemoryMean) && MemoryStd.Equals(other.MemoryStd)
        && HeadMean.Equals(other.HeadMean) && HeadStd.Equals(other.HeadStd) && Nullable.Equals(HeadMapScale, other.HeadMapScale)
        && (ResidualNormalisers is null ? other.ResidualNormalisers is null : other.ResidualNormalisers is not null && ResidualNormalisers.SequenceEqual(other.ResidualNormalisers));

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ReconstructionMean, ReconstructionStd, Threshold, PixelThreshold, ImageCount, ResidualNormalisers?.Count ?? -1);

    /// <summary>The fewest calibration images whose threshold is trusted without a warning.</summary>
    public const int MinimumReliableImageCount = 10;

    /// <summary>
    /// Gets a warning when the threshold comes from fewer than <see cref="MinimumReliableImageCount"/> normal
    /// images (a quantile of so few scores is close to their maximum or beyond it, so clean images are flagged),
    /// saying how many were used and what to do; <see langword="null"/> otherwise.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? Warning => ImageCount >= MinimumReliableImageCount
        ? null
        : string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"the threshold comes from {ImageCount} normal image{(ImageCount == 1 ? "" : "s")} ({(FromHeldOutImages ? "held back from training" : "training images")}), fewer than {MinimumReliableImageCount}: expect clean images above it; train on more images (TrainingOptions.ValidationFraction of them, 10 % by default, is held back) or recalibrate on at least {MinimumReliableImageCount} unseen normal images with Calibrate");

    /// <summary>The percentile of normal pixels each scale of a multi-scale residual is divided by.</summary>
    public const double ResidualNormaliserQuantile = 0.99;

    /// <summary>
    /// Measures the normalisers of a multi-scale residual from per-scale maps of normal images:
    /// <paramref name="scaleMaps"/>[k] holds scale k's map values (any number of images, flattened);
    /// each normaliser is the <see cref="ResidualNormaliserQuantile"/> quantile of at most 4 M of them,
    /// floored at 1e-12.
    /// </summary>
    public static double[] MeasureResidualNormalisers(IReadOnlyList<IReadOnlyList<float>> scaleMaps)
    {
        ArgumentNullException.ThrowIfNull(scaleMaps);
        var result = new double[scaleMaps.Count];
        for (int k = 0; k < scaleMaps.Count; k++)
        {
            var values = scaleMaps[k];
            int stride = Math.Max(1, values.Count / MaxCalibrationPixels);
            var sample = new List<double>((values.Count / stride) + 1);
            for (int i = 0; i < values.Count; i += stride)
            {
                sample.Add(values[i]);
            }

            result[k] = Math.Max(Quantile(sample, ResidualNormaliserQuantile), 1e-12);
        }

        return result;
    }

    /// <summary>
    /// The combined score of eq. 7 from raw R and L: <c>R̃ = (R − μ_R)/σ_R</c>, <c>L̃ = (L − μ_L)/σ_L</c>,
    /// <c>A = γ·R̃ + (1 − γ)·L̃</c>, or <c>A = R̃</c> without an alignment error.
    /// </summary>
    public double Combine(double reconstructionError, double? alignmentError, double gamma)
    {
        double r = (reconstructionError - ReconstructionMean) / ReconstructionStd;
        if (alignmentError is not { } l)
        {
            return r;
        }

        return (gamma * r) + ((1 - gamma) * ((l - AlignmentMean) / AlignmentStd));
    }

    /// <summary>
    /// The image score with the memory distance: <c>A = (1 − β)·(γ·R̃ + (1 − γ)·L̃) + β·M̃</c> with
    /// <c>M̃ = (M − μ_M)/σ_M</c>; without a memory distance (or with β = 0) the score of
    /// <see cref="Combine(double, double?, double)"/>.
    /// </summary>
    public double Combine(double reconstructionError, double? alignmentError, double? memoryDistance, double gamma, double memoryWeight)
    {
        double a = Combine(reconstructionError, alignmentError, gamma);
        if (memoryDistance is not { } m || memoryWeight == 0)
        {
            return a;
        }

        return ((1 - memoryWeight) * a) + (memoryWeight * ((m - MemoryMean) / MemoryStd));
    }

    /// <summary>
    /// The image score with the discriminative head: <c>A = (1 − w)·A_rec + w·H̃</c> with <c>H̃ = (H − μ_H)/σ_H</c>,
    /// where <c>A_rec</c> is the score of <see cref="Combine(double, double?, double?, double, double)"/>;
    /// without a head score (or with w = 0) that score.
    /// </summary>
    public double Combine(double reconstructionError, double? alignmentError, double? memoryDistance, double? headScore, double gamma, double memoryWeight, double headWeight)
    {
        if (headScore is not { } h || headWeight == 0)
        {
            return Combine(reconstructionError, alignmentError, memoryDistance, gamma, memoryWeight);
        }

        double z = (h - HeadMean) / HeadStd;
        return headWeight == 1 ? z : ((1 - headWeight) * Combine(reconstructionError, alignmentError, memoryDistance, gamma, memoryWeight)) + (headWeight * z);
    }

    /// <summary>
    /// The anomaly map of a head weight 0 &lt; w &lt; 1: <c>(1 − w)·residual + w·HeadMapScale·head</c>, pixel by pixel, in
    /// single precision — each map weighed as the score weighs its pooled term (divided by its spread σ_R or σ_H over
    /// normal images), then expressed in the residual map's units. The exported ONNX graph computes the same.
    /// </summary>
    /// <exception cref="InvalidOperationException">This calibration has no <see cref="HeadMapScale"/>.</exception>
    internal float[] MixMaps(float[] residual, float[] head, double headWeight)
    {
        var (a, b) = MapWeights(headWeight);
        var mixed = new float[residual.Length];
        for (int p = 0; p < mixed.Length; p++)
        {
            mixed[p] = (a * residual[p]) + (b * head[p]);
        }

        return mixed;
    }

    /// <summary>The single-precision weights of the residual and the head map in <see cref="MixMaps"/>.</summary>
    internal (float Residual, float Head) MapWeights(double headWeight) =>
        HeadMapScale is { } scale
            ? ((float)(1 - headWeight), (float)(headWeight * scale))
            : throw new InvalidOperationException("This calibration has no HeadMapScale: its anomaly map is one term's, not a mix.");

    /// <summary>These statistics with the <see cref="HeadMapScale"/> that a head weight needs (σ_R/σ_H when it mixes the maps, else none).</summary>
    internal ScoreCalibration ForHeadWeight(double headWeight) => this with { HeadMapScale = MixesMaps(headWeight) ? ReconstructionStd / HeadStd : null };

    /// <summary>Whether a head weight mixes the residual and head maps (0 &lt; w &lt; 1); at 0 and 1 the map is one term's.</summary>
    internal static bool MixesMaps(double headWeight) => headWeight is > 0 and < 1;

    /// <summary>
    /// Measures a calibration from a model's raw output for normal images, as <see cref="Measure"/> does; when the
    /// outputs carry both maps (<see cref="RawScore.HeadMap"/>: a head weight 0 &lt; w &lt; 1), in two passes — the
    /// statistics first, whose spreads give <see cref="HeadMapScale"/>, then the pixel threshold on the mixed maps.
    /// </summary>
    internal static ScoreCalibration MeasureRaw(IReadOnlyList<RawScore> normal, ScoringOptions scoring, bool heldOut)
    {
        var first = Measure(normal.Select(r => AnomalyResult.FromRaw(r, null, scoring)).ToList(), scoring, heldOut);
        if (normal.Count == 0 || normal[0].HeadMap is null)
        {
            return first;
        }

        return Measure(normal.Select(r => AnomalyResult.FromRaw(r, first, scoring)).ToList(), scoring, heldOut);
    }

    /// <summary>
    /// Measures a calibration from results of normal images (their raw R, L and maps; the results'
    /// own calibrated scores are ignored): z-score statistics of R, L and the memory distance M, the image threshold at
    /// <see cref="ScoringOptions.TargetFalsePositiveRate"/> and the pixel threshold at
    /// <see cref="ScoringOptions.PixelFalsePositiveRate"/> (over at most 4 M map values) — of the results' maps as they are;
    /// with a head weight 0 &lt; w &lt; 1 also <see cref="HeadMapScale"/> from the measured spreads.
    /// </summary>
    /// <param name="normalResults">Results of normal images.</param>
    /// <param name="scoring">The scoring options (γ, the memory weight β — resolved, see <see cref="DaadOptions.EffectiveMemoryWeight"/> — and the target rates).</param>
    /// <param name="heldOut">Whether the images were held back from training.</param>
    /// <exception cref="ArgumentException">No result was given, or the results mix images with and without an alignment error or a memory distance.</exception>
    public static ScoreCalibration Measure(IReadOnlyList<AnomalyResult> normalResults, ScoringOptions scoring, bool heldOut)
    {
        ArgumentNullException.ThrowIfNull(normalResults);
        ArgumentNullException.ThrowIfNull(scoring);
        if (normalResults.Count == 0)
        {
            throw new ArgumentException("Calibration needs at least one normal image.", nameof(normalResults));
        }

        bool alignment = normalResults[0].AlignmentError is not null;
        if (normalResults.Any(r => (r.AlignmentError is not null) != alignment))
        {
            throw new ArgumentException("Some results have an alignment error and some do not; calibrate results of one model.", nameof(normalResults));
        }

        bool memory = normalResults[0].MemoryDistance is not null;
        if (normalResults.Any(r => (r.MemoryDistance is not null) != memory))
        {
            throw new ArgumentException("Some results have a memory distance and some do not; calibrate results of one model and scoring.", nameof(normalResults));
        }

        bool head = normalResults[0].HeadScore is not null;
        if (normalResults.Any(r => (r.HeadScore is not null) != head))
        {
            throw new ArgumentException("Some results have a head score and some do not; calibrate results of one model and scoring.", nameof(normalResults));
        }

        var rs = normalResults.Select(r => r.ReconstructionError).ToList();
        var ms = memory ? normalResults.Select(r => r.MemoryDistance!.Value).ToList() : null;
        var ls = alignment ? normalResults.Select(r => r.AlignmentError!.Value).ToList() : null;
        var hs = head ? normalResults.Select(r => r.HeadScore!.Value).ToList() : null;
        var pixels = new List<double>();
        foreach (var result in normalResults)
        {
            var map = result.AnomalyMap;
            int stride = Math.Max(1, (int)((long)map.Length * normalResults.Count / MaxCalibrationPixels));
            for (int p = 0; p < map.Length; p += stride)
            {
                pixels.Add(map[p]);
            }
        }

        var calibration = Statistics(rs, ls, ms, hs, heldOut);
        double weight = scoring.MemoryWeight ?? ScoringOptions.DefaultMemoryWeight;
        double headWeight = scoring.HeadWeight ?? (head ? ScoringOptions.DefaultHeadWeight : 0);
        var combined = rs.Select((r, i) => calibration.Combine(r, ls?[i], ms?[i], hs?[i], scoring.Gamma, weight, headWeight)).ToList();
        return (head ? calibration.ForHeadWeight(headWeight) : calibration) with
        {
            Threshold = Quantile(combined, 1 - scoring.TargetFalsePositiveRate),
            PixelThreshold = Quantile(pixels, 1 - scoring.PixelFalsePositiveRate),
        };
    }

    /// <summary>
    /// The z-score statistics of raw R, L, M and H over normal images (population deviations floored at
    /// 1e-12; L, M and H at 0 and 1 when absent), without thresholds: what <see cref="Measure"/> starts from,
    /// and what model selection measures for every pooling it tries.
    /// </summary>
    internal static ScoreCalibration Statistics(IReadOnlyList<double> reconstruction, IReadOnlyList<double>? alignment, IReadOnlyList<double>? memory, IReadOnlyList<double>? head, bool heldOut)
    {
        var (rMean, rStd) = MeanStd(reconstruction);
        var (lMean, lStd) = alignment is null ? (0.0, 1.0) : MeanStd(alignment);
        var (mMean, mStd) = memory is null ? (0.0, 1.0) : MeanStd(memory);
        var (hMean, hStd) = head is null ? (0.0, 1.0) : MeanStd(head);
        return new ScoreCalibration(rMean, rStd, lMean, lStd, double.NaN, double.NaN, reconstruction.Count, heldOut) { MemoryMean = mMean, MemoryStd = mStd, HeadMean = hMean, HeadStd = hStd };
    }

    /// <summary>The q-quantile (linear interpolation, as numpy's default) of <paramref name="values"/>.</summary>
    internal static double Quantile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.OrderBy(v => v).ToArray();
        double pos = Math.Clamp(q, 0, 1) * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
    }

    private static (double Mean, double Std) MeanStd(IReadOnlyList<double> values)
    {
        double mean = values.Average();
        double variance = values.Sum(v => (v - mean) * (v - mean)) / values.Count;
        return (mean, Math.Max(Math.Sqrt(variance), 1e-12));
    }
}
