using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>An anomaly detector: train on normal images, then score images; save and load.</summary>
public interface IAnomalyDetector : IDisposable
{
    /// <summary>Gets a copy of the options the detector was built with.</summary>
    DaadOptions Options { get; }

    /// <summary>Gets the calibration measured after training (or loaded), or <see langword="null"/> before training.</summary>
    ScoreCalibration? Calibration { get; }

    /// <summary>Gets a value indicating whether the detector has been trained (or loaded) and calibrated.</summary>
    bool IsTrained { get; }

    /// <summary>Gets the image size S the model works at.</summary>
    int ImageSize { get; }

    /// <summary>Gets the number of image channels the model works with.</summary>
    int Channels { get; }

    /// <summary>Trains on normal images, then calibrates the score on held-back normal images.</summary>
    /// <param name="normalImages">Normal images.</param>
    /// <param name="progress">Receives progress after every step and epoch.</param>
    /// <param name="cancellationToken">Stops training after the current step; the model is then calibrated and usable, and <see cref="OperationCanceledException"/> is thrown.</param>
    /// <returns>What the run did.</returns>
    /// <exception cref="TrainingDivergedException">A loss or gradient became non-finite.</exception>
    TrainingSummary Fit(IImageSource normalImages, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>Trains on a background thread; see <see cref="Fit(IImageSource, IProgress{TrainingProgress}?, CancellationToken)"/>.</summary>
    Task<TrainingSummary> FitAsync(IImageSource normalImages, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>Scores images <c>[B, C, S, S]</c> (or one <c>[C, S, S]</c>) with values in [-1, 1].</summary>
    IReadOnlyList<AnomalyResult> Score(Tensor images);

    /// <summary>Scores every image of a source, in batches.</summary>
    IReadOnlyList<AnomalyResult> Score(IImageSource images, CancellationToken cancellationToken = default);

    /// <summary>Saves the model to a file atomically (temporary file, then rename).</summary>
    void Save(string path);

    /// <summary>Saves the model to a stream.</summary>
    void Save(Stream stream);
}
