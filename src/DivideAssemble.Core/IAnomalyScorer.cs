namespace DivideAssemble;

/// <summary>
/// A trained anomaly model that scores images: what every backend offers (the TorchSharp
/// <c>AnomalyDetector</c> and <c>AnomalyScorer</c>, the ONNX Runtime <c>OnnxAnomalyScorer</c>), so
/// application code written against it runs unchanged on either. Images of any size and channel count
/// are converted to the model's through <see cref="ImagePreprocessing"/>.
/// </summary>
public interface IAnomalyScorer : IDisposable
{
    /// <summary>Gets a copy of the options the model was trained with (and scores with).</summary>
    DaadOptions Options { get; }

    /// <summary>Gets the image side S the model works at.</summary>
    int ImageSize { get; }

    /// <summary>Gets the number of image channels the model works with.</summary>
    int Channels { get; }

    /// <summary>Gets the calibration in force, or <see langword="null"/> when the model has none (scores are then raw R and nothing is flagged).</summary>
    ScoreCalibration? Calibration { get; }

    /// <summary>Scores one image.</summary>
    /// <exception cref="ArgumentException">The image holds NaN or infinite values.</exception>
    AnomalyResult Score(FloatImage image);

    /// <summary>Scores images in one batch; results are in input order.</summary>
    /// <exception cref="ArgumentException">The list is empty, or an image holds NaN or infinite values (the message names it).</exception>
    IReadOnlyList<AnomalyResult> Score(IReadOnlyList<FloatImage> images);

    /// <summary>Scores every image of a source, in batches; results are in source order.</summary>
    /// <exception cref="InvalidDataException">An image cannot be read; the message names it.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled (checked between batches).</exception>
    IReadOnlyList<AnomalyResult> Score(IImageSource images, CancellationToken cancellationToken = default);

    /// <summary>
    /// Scores normal images (ideally ones the model was not trained on) and calibrates on their raw
    /// scores (<see cref="ScoreCalibration.Measure"/>), replacing the calibration in force.
    /// </summary>
    /// <exception cref="ArgumentException">The source is empty.</exception>
    ScoreCalibration Calibrate(IImageSource normalImages, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces the calibration in force, for example with one measured by <see cref="ScoreCalibration.Measure"/>
    /// from results collected at deployment, or the stored one with another threshold (<c>calibration with { Threshold = … }</c>).
    /// </summary>
    void UseCalibration(ScoreCalibration calibration);
}
