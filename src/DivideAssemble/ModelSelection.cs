using System.Diagnostics;
using DivideAssemble.Selection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DivideAssemble;

/// <summary>
/// Chooses the settings that matter on the user's own normal images, then trains the final model with
/// the winner: block division and memory temperature (one training per network setting, shorter than
/// the final model's unless <see cref="SelectionOptions.CandidateEpochFraction"/> says otherwise), residual kind and pooling (scored on every trained candidate without retraining),
/// judged by image AUROC on a validation split that never touches a test set.
/// </summary>
/// <remarks>
/// <para>Rounds: first the divisions of <see cref="SelectionOptions.Divisions"/> at the configured
/// temperature, then <see cref="SelectionOptions.Temperatures"/> with the best division. Before any
/// training one step is timed to estimate a candidate's cost; a budget below one candidate is refused
/// then, and a candidate that would overrun the budget is skipped (the report lists it).</para>
/// <para>With a state file, every finished candidate is recorded atomically, and the final model trains
/// with checkpoints beside it: run the same selection again after an interruption and it continues
/// where it stopped. Both files are deleted when the final model is trained.</para>
/// </remarks>
public static class ModelSelection
{
    /// <summary>The fewest normal images selection accepts from a plain set of normal images: every fifth is held back, and a validation set needs two.</summary>
    public const int MinimumNormalImages = SyntheticValidation.MinimumImages;

    /// <summary>
    /// Selects on a validation split made from <paramref name="normalImages"/> (every fifth image held
    /// back, shown as it is and with a synthetic defect, <see cref="SyntheticDefects"/>), then trains the
    /// final model on all of them.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than <see cref="MinimumNormalImages"/> images, invalid options, or a budget too small for one candidate (before any training).</exception>
    public static SelectionResult Select(
        DaadOptions options,
        IImageSource normalImages,
        SelectionOptions? selection = null,
        string? statePath = null,
        IProgress<SelectionProgress>? progress = null,
        ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(normalImages);
        if (normalImages.Count < MinimumNormalImages)
        {
            throw new ArgumentException(
                $"Selection needs at least {MinimumNormalImages} normal images (every fifth is held back for validation); there are {normalImages.Count}. Train with the defaults instead.",
                nameof(normalImages));
        }

        var (fit, held) = SyntheticValidation.Split(normalImages.Count);
        var validation = SyntheticValidation.Of(ImageSources.Subset(normalImages, held));
        string description = SyntheticValidation.Describe(normalImages.Count, fit.Length, held.Length);
        return SelectOnSplit(options, ImageSources.Subset(normalImages, fit), validation, normalImages, description, selection, statePath, progress, logger, cancellationToken);
    }

    /// <summary>
    /// Selects on a validation split the caller made (for example other classes as anomalies, or real
    /// defects held back from the line), then trains the final model on <paramref name="allTraining"/>.
    /// When <paramref name="train"/> is <paramref name="allTraining"/> (the validation images are the
    /// caller's own, not carved from the training images) and candidates train as many epochs as the final
    /// model (<see cref="SelectionOptions.CandidateEpochFraction"/> 1), the winner's candidate already is
    /// the final model: it is kept and rescored the winner's way instead of trained again. A final model
    /// that is trained anew after reconstruction beat a discriminative head (head weight 0) has no head.
    /// </summary>
    /// <param name="options">The base options: everything selection does not choose, and the final model's epochs.</param>
    /// <param name="train">Normal images the candidates train on.</param>
    /// <param name="validation">Labelled validation images (normal and anomalous), disjoint from <paramref name="train"/>.</param>
    /// <param name="allTraining">Every normal training image, for the final model.</param>
    /// <param name="validationDescription">What the validation split is, for the report.</param>
    /// <param name="selection">What to try and the budget; <see langword="null"/> for the defaults.</param>
    /// <param name="statePath">A file that makes the selection resumable, or <see langword="null"/>.</param>
    /// <param name="progress">Progress reports.</param>
    /// <param name="logger">A logger.</param>
    /// <param name="cancellationToken">Cancels between steps.</param>
    /// <exception cref="ArgumentException">Invalid options, a validation set without both labels, a state file of another selection, or a budget too small for one candidate (before any training).</exception>
    public static SelectionResult SelectOnSplit(
        DaadOptions options,
        IImageSource train,
        ILabeledImageSource validation,
        IImageSource allTraining,
        string validationDescription,
        SelectionOptions? selection = null,
        string? statePath = null,
        IProgress<SelectionProgress>? progress = null,
        ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(allTraining);
        Scoring.ScoringRules.ThrowIfInvalid(options);
        selection = Checked(selection);
        var labels = Enumerable.Range(0, validation.Count).Select(validation.GetLabel).ToArray();
        if (!labels.Contains(0) || !labels.Contains(1))
        {
            throw new ArgumentException($"The validation set needs normal and anomalous images; it has {labels.Count(l => l == 0)} normal and {labels.Count(l => l == 1)} anomalous.", nameof(validation));
        }

        using var run = new SelectionRun(options, selection, train, validation, allTraining, validationDescription, statePath, progress, logger ?? NullLogger.Instance);
        var report = run.ScoreCandidates(cancellationToken);
        var (detector, summary) = run.TrainFinal(report, cancellationToken);
        return new SelectionResult(detector, report, summary);
    }

    /// <summary>
    /// Scores a trained model on labelled images with every residual kind and pooling of
    /// <paramref name="selection"/>, without retraining: per residual kind the model scores the
    /// calibration images and the labelled images once (a multi-scale residual's normalisers come from
    /// the calibration images), and every pooling is computed from the same maps as the scorer pools
    /// them, combined with L and the memory distance through that pooling's calibration statistics. The
    /// model's scoring and calibration are as they were afterwards.
    /// </summary>
    /// <param name="detector">A trained model.</param>
    /// <param name="calibrationImages">Normal images training held back (see <see cref="AnomalyDetector.HeldOutIndices"/>).</param>
    /// <param name="images">Labelled images to measure AUROC on.</param>
    /// <param name="selection">The residual kinds, poolings and top fractions to try; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <returns>One row per residual kind and pooling (training time 0, epochs as the model's options say).</returns>
    /// <exception cref="ArgumentException">The selection options are invalid or name a method this library does not compute.</exception>
    public static IReadOnlyList<SelectionCandidate> ScoreEveryWay(
        AnomalyDetector detector, IImageSource calibrationImages, ILabeledImageSource images, SelectionOptions? selection = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(calibrationImages);
        ArgumentNullException.ThrowIfNull(images);
        return CandidateScorer.ScoreEveryWay(detector, calibrationImages, images, Checked(selection), cancellationToken);
    }

    /// <summary>The options of one network candidate: <paramref name="options"/> with the division, temperature and epochs.</summary>
    internal static DaadOptions Candidate(DaadOptions options, string division, double temperature, int epochs) => NetworkCandidates.Options(options, division, temperature, epochs);

    private static SelectionOptions Checked(SelectionOptions? selection)
    {
        selection = (selection ?? new SelectionOptions()).Clone();
        SelectionOptionsValidator.ThrowIfInvalid(selection, nameof(selection));
        var methods = Scoring.ScoringMethods.Current;
        foreach (var pooling in selection.Poolings)
        {
            _ = methods.Pooling(pooling);
        }

        foreach (var residual in selection.Residuals)
        {
            _ = methods.Residual(residual);
        }

        return selection;
    }
}

/// <summary>The outcome of <see cref="ModelSelection"/>: the final model (owned by the caller), what was tried and the final training run.</summary>
/// <param name="Detector">The final model, trained and calibrated with the winner's settings; dispose it.</param>
/// <param name="Report">The candidates and the choice (also in <see cref="AnomalyDetector.Selection"/>, and saved with the model).</param>
/// <param name="Training">The final model's training run.</param>
public sealed record SelectionResult(AnomalyDetector Detector, SelectionReport Report, TrainingSummary Training);
