namespace DivideAssemble;

/// <summary>The outcome of scoring one image.</summary>
public sealed record AnomalyResult
{
    /// <summary>Gets the combined anomaly score A(x) (eq. 7, normalised; higher is more anomalous).</summary>
    public required double Score { get; init; }

    /// <summary>Gets the raw reconstruction score R(x), pooled from the anomaly map.</summary>
    public required double ReconstructionError { get; init; }

    /// <summary>Gets the raw alignment error L(x) (DAAD+ only; <see langword="null"/> otherwise).</summary>
    public double? AlignmentError { get; init; }

    /// <summary>Gets the image threshold the decision used (<see cref="double.NaN"/> when the model is not calibrated).</summary>
    public required double Threshold { get; init; }

    /// <summary>Gets a value indicating whether <see cref="Score"/> exceeds <see cref="Threshold"/>.</summary>
    public required bool IsAnomalous { get; init; }

    /// <summary>Gets the side of the (square) anomaly map, mask and reconstruction, in pixels.</summary>
    public required int Size { get; init; }

    /// <summary>Gets the number of channels of <see cref="Reconstruction"/>.</summary>
    public required int Channels { get; init; }

    /// <summary>Gets the per-pixel anomaly map, row-major (channel-mean squared error, smoothed if configured).</summary>
    public required float[] AnomalyMap { get; init; }

    /// <summary>Gets the reconstruction, channel-major, values in [-1, 1].</summary>
    public required float[] Reconstruction { get; init; }

    /// <summary>Gets the binary defect mask (map above the pixel threshold), row-major.</summary>
    public required bool[] DefectMask { get; init; }

    /// <summary>Gets the connected regions of <see cref="DefectMask"/>, largest first.</summary>
    public required IReadOnlyList<DefectRegion> Regions { get; init; }
}

/// <summary>A connected region of a defect mask (8-connectivity).</summary>
/// <param name="X">Left edge of the bounding box.</param>
/// <param name="Y">Top edge of the bounding box.</param>
/// <param name="Width">Width of the bounding box.</param>
/// <param name="Height">Height of the bounding box.</param>
/// <param name="Area">Number of pixels in the region.</param>
/// <param name="PeakScore">Highest anomaly-map value in the region.</param>
public sealed record DefectRegion(int X, int Y, int Width, int Height, int Area, double PeakScore);

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
    bool FromHeldOutImages);
