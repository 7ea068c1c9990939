using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// A trainable anomaly detector (the TorchSharp backend): everything an <see cref="IAnomalyScorer"/>
/// offers, plus training, tensor scoring and saving.
/// </summary>
public interface IAnomalyDetector : IAnomalyScorer
{
    /// <summary>Gets a value indicating whether the weights have been trained (by <see cref="Fit"/> or in the loaded file).</summary>
    bool IsTrained { get; }

    /// <summary>Trains on normal images, then calibrates the score on held-back normal images.</summary>
    /// <param name="normalImages">Normal images.</param>
    /// <param name="progress">Receives progress after every step and epoch.</param>
    /// <param name="cancellationToken">Stops training after the current step; the model is then calibrated and usable, and <see cref="OperationCanceledException"/> is thrown.</param>
    /// <returns>What the run did.</returns>
    /// <exception cref="TrainingDivergedException">A loss or gradient became non-finite.</exception>
    TrainingSummary Fit(IImageSource normalImages, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>Scores images <c>[B, C, S, S]</c> (or one <c>[C, S, S]</c>) with values in [-1, 1].</summary>
    /// <exception cref="ArgumentException">The shape does not match the model (the message names the dimension), or an image holds NaN or infinity.</exception>
    IReadOnlyList<AnomalyResult> Score(Tensor images);

    /// <summary>Saves the model to a file atomically (temporary file, then rename).</summary>
    void Save(string path);

    /// <summary>Saves the model to a stream.</summary>
    void Save(Stream stream);
}
