using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DivideAssemble.Evaluation;
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
    public const int MinimumNormalImages = 10;

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

        var fit = Enumerable.Range(0, normalImages.Count).Where(i => i % 5 != 4).ToList();
        var held = Enumerable.Range(0, normalImages.Count).Where(i => i % 5 == 4).ToList();
        var validation = new SyntheticDefects(ImageSources.Subset(normalImages, held));
        string description = $"every fifth of {normalImages.Count} normal images held back, shown as it is and with a synthetic defect: {fit.Count} training, {held.Count} normal and {held.Count} synthetic-defect validation images";
        return SelectOnSplit(options, ImageSources.Subset(normalImages, fit), validation, normalImages, description, selection, statePath, progress, logger, cancellationToken);
    }

    /// <summary>Selects on a validation split the caller made (for example other classes as anomalies), then trains the final model on <paramref name="allTraining"/>.</summary>
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
        DaadOptionsValidator.ThrowIfInvalid(options);
        selection = (selection ?? new SelectionOptions()).Clone();
        CheckSelectionOptions(selection);
        var labels = Enumerable.Range(0, validation.Count).Select(validation.GetLabel).ToArray();
        if (!labels.Contains(0) || !labels.Contains(1))
        {
            throw new ArgumentException($"The validation set needs normal and anomalous images; it has {labels.Count(l => l == 0)} normal and {labels.Count(l => l == 1)} anomalous.", nameof(validation));
        }

        logger ??= NullLogger.Instance;
        var clock = Stopwatch.StartNew();
        int anomalous = labels.Count(l => l == 1), normal = labels.Length - anomalous;
        var state = SelectionState.Load(statePath, Signature(options, selection, train.Count, validation.Count, allTraining.Count, validationDescription));
        double secondsBefore = state.SecondsSpent;
        int candidateEpochs = Math.Max(1, (int)Math.Round(options.Training.Epochs * selection.CandidateEpochFraction));
        var divisions = selection.Divisions?.ToList() ?? DefaultDivisions(options.Network);
        var networks = divisions.Select(d => (Division: d, Temperature: options.Network.MemoryTemperature)).ToList();
        foreach (var (division, temperature) in networks)
        {
            _ = Candidate(options, division, temperature, candidateEpochs); // every planned division is valid before anything trains
        }

        // One timed step of the first candidate estimates every candidate's cost and the final model's.
        double stepSeconds = state.StepSeconds ??= MeasureStep(Candidate(options, networks[0].Division, networks[0].Temperature, candidateEpochs), train, cancellationToken);
        double CostOf(int images, int epochs) => stepSeconds * epochs * Math.Ceiling(images * (1 - options.Training.ValidationFraction) / options.Training.BatchSize);
        double candidateCost = CostOf(train.Count, candidateEpochs);
        double finalCost = CostOf(allTraining.Count, options.Training.Epochs);
        double budget = selection.Budget?.TotalSeconds ?? 3.5 * finalCost;
        if (candidateCost > budget)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"The selection budget of {budget:F0} s is less than one candidate's estimated training time, {candidateCost:F0} s ({candidateEpochs} epochs on {train.Count} images at {stepSeconds * 1000:F0} ms per step); raise the budget or lower CandidateEpochFraction."),
                nameof(selection));
        }

        save(state);
        var skipped = new List<string>();
        int planned = networks.Count + (selection.Temperatures?.Count ?? 2);
        for (int round = 0; round < 2; round++)
        {
            if (round == 1)
            {
                // The temperature round, around the best division so far.
                var best = Choose(state.Rows, options, selection, anomalous, normal).Winner;
                var temperatures = selection.Temperatures?.ToList() ?? new List<double> { options.Network.MemoryTemperature / 2, options.Network.MemoryTemperature * 3 };
                networks = temperatures
                    .Where(t => t is >= NetworkOptions.MinTemperature and <= NetworkOptions.MaxTemperature)
                    .Select(t => (best.Division, t)).ToList();
            }

            foreach (var (division, temperature) in networks)
            {
                cancellationToken.ThrowIfCancellationRequested();
                string name = string.Create(CultureInfo.InvariantCulture, $"division {division}, T {temperature:G3}");
                if (state.Done.Contains(name))
                {
                    continue;
                }

                // Budget: what this session spent plus what earlier sessions recorded; a candidate is
                // expected to cost what finished ones cost on average (training and scoring), at least the estimate.
                double spent = secondsBefore + clock.Elapsed.TotalSeconds;
                double expected = Math.Max(candidateCost, state.CandidateSeconds.Count > 0 ? state.CandidateSeconds.Average() : 0);
                if (spent + expected > budget)
                {
                    skipped.Add(name);
                    logger.LogInformation("Selection skips {Candidate}: {Spent:F0} s spent of {Budget:F0} s", name, spent, budget);
                    continue;
                }

                progress?.Report(new SelectionProgress($"training {name}", state.Done.Count, planned, clock.Elapsed, null));
                var started = clock.Elapsed;
                state.Rows.AddRange(TrainAndScore(
                    Candidate(options, division, temperature, candidateEpochs), division, temperature, train, validation, selection,
                    t => progress?.Report(new SelectionProgress($"training {name}", state.Done.Count, planned, clock.Elapsed, t)), cancellationToken));
                state.Done.Add(name);
                state.CandidateSeconds.Add((clock.Elapsed - started).TotalSeconds);
                save(state);
            }
        }

        var (winner, baseline, margin) = Choose(state.Rows, options, selection, anomalous, normal);
        var report = new SelectionReport(state.Rows.ToList(), winner, validationDescription, budget, secondsBefore + clock.Elapsed.TotalSeconds, skipped)
        {
            Configured = baseline,
            RequiredGain = margin,
        };
        logger.LogInformation("{Choice}", report.Describe());

        // The final model: the winner's settings, every training image, the configured epochs.
        var final = Candidate(options, winner.Division, winner.Temperature, options.Training.Epochs);
        final.Scoring.Residual = winner.Residual;
        final.Scoring.Pooling = winner.Pooling;
        final.Scoring.TopFraction = winner.TopFraction ?? final.Scoring.TopFraction;
        if (winner.Residual == ResidualKind.MultiScale && final.Scoring.ResidualSigma == 0)
        {
            final.Scoring.ResidualSigma = null;
        }
        progress?.Report(new SelectionProgress("training the final model", state.Done.Count, state.Done.Count, clock.Elapsed, null));
        var trainingProgress = progress is null ? null : new Relay(t => progress.Report(new SelectionProgress("training the final model", state.Done.Count, state.Done.Count, clock.Elapsed, t)));
        AnomalyDetector detector;
        TrainingSummary summary;
        string? checkpoint = statePath is null ? null : statePath + ".checkpoint";
        if (checkpoint is not null && File.Exists(checkpoint))
        {
            (detector, summary) = AnomalyDetector.Resume(checkpoint, allTraining, trainingProgress, logger, cancellationToken);
        }
        else
        {
            detector = new AnomalyDetector(final, logger);
            try
            {
                summary = checkpoint is null
                    ? detector.Fit(allTraining, trainingProgress, cancellationToken)
                    : detector.FitWithCheckpoints(allTraining, checkpoint, trainingProgress, cancellationToken);
            }
            catch
            {
                detector.Dispose();
                throw;
            }
        }

        detector.Selection = report;
        if (statePath is not null)
        {
            File.Delete(statePath);
            File.Delete(checkpoint!);
        }

        return new SelectionResult(detector, report, summary);

        void save(SelectionState s)
        {
            if (statePath is not null)
            {
                s.SecondsSpent = secondsBefore + clock.Elapsed.TotalSeconds;
                AtomicFile.WriteAllText(statePath, JsonSerializer.Serialize(s, ModelMetadata.Json));
            }
        }
    }

    /// <summary>The divisions tried by default: the size-derived r, r/2, 2r and r/4 (those that fit the first scale and divide every scale they do not exceed).</summary>
    internal static List<string> DefaultDivisions(NetworkOptions network)
    {
        int r = network.DefaultBlockRatio();
        int first = network.ImageSize / 2;
        var sizes = Enumerable.Range(1, network.Depth).Select(l => network.ImageSize >> l).ToArray();
        return new[] { r, r / 2, r * 2, r / 4 }
            .Where(x => x >= 1 && x <= first && sizes.All(size => size < x || size % x == 0))
            .Distinct()
            .Select(x => string.Create(CultureInfo.InvariantCulture, $"{x},{x},{network.ChannelRatio}"))
            .ToList();
    }

    /// <summary>The options of one network candidate.</summary>
    internal static DaadOptions Candidate(DaadOptions options, string division, double temperature, int epochs)
    {
        var o = options.Clone();
        o.Training.Epochs = epochs;
        o.Network.MemoryTemperature = temperature;
        if (division == "pixel")
        {
            o.Network.PerPixel = true;
        }
        else
        {
            var parts = division.Split(',');
            if (parts.Length != 3 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= 1))
            {
                throw new ArgumentException($"SelectionOptions.Divisions: '{division}' is not a division; use 'r_h,r_w,r_c' (positive integers) or 'pixel'.", nameof(division));
            }

            o.Network.PerPixel = false;
            o.Network.HeightRatio = int.Parse(parts[0], CultureInfo.InvariantCulture);
            o.Network.WidthRatio = int.Parse(parts[1], CultureInfo.InvariantCulture);
            o.Network.ChannelRatio = int.Parse(parts[2], CultureInfo.InvariantCulture);
        }

        var errors = DaadOptionsValidator.Collect(o);
        if (errors.Count > 0)
        {
            throw new ArgumentException($"SelectionOptions.Divisions: '{division}' does not fit this network: {string.Join(" ", errors)}", nameof(division));
        }

        return o;
    }

    private static void CheckSelectionOptions(SelectionOptions selection)
    {
        var errors = new List<string>();
        if (selection.Budget is { } b && b <= TimeSpan.Zero)
        {
            errors.Add($"Budget: {b} must be positive.");
        }

        if (selection.CandidateEpochFraction is <= 0 or > 1 || double.IsNaN(selection.CandidateEpochFraction))
        {
            errors.Add($"CandidateEpochFraction: {selection.CandidateEpochFraction} must be in (0, 1].");
        }

        if (selection.Divisions is { Count: 0 })
        {
            errors.Add("Divisions: give at least one, or leave it null for the size-derived ones.");
        }

        if (selection.Residuals is null || selection.Residuals.Count == 0 || selection.Residuals.Any(r => !Enum.IsDefined(r)))
        {
            errors.Add("Residuals: give at least one defined residual kind.");
        }

        if (selection.Poolings is null || selection.Poolings.Count == 0 || selection.Poolings.Any(p => !Enum.IsDefined(p)))
        {
            errors.Add("Poolings: give at least one defined pooling.");
        }

        if (selection.TopFractions is null || selection.TopFractions.Count == 0 || selection.TopFractions.Any(f => f is <= 0 or > 1 || double.IsNaN(f)))
        {
            errors.Add("TopFractions: give at least one fraction in (0, 1].");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid selection options: " + string.Join(" ", errors.Select(e => "SelectionOptions." + e)), nameof(selection));
        }
    }

    /// <summary>Trains one network candidate and scores it every way on the validation images; calibration uses the images training held back.</summary>
    private static List<SelectionCandidate> TrainAndScore(
        DaadOptions options, string division, double temperature, IImageSource train, ILabeledImageSource validation, SelectionOptions selection,
        Action<TrainingProgress> onTraining, CancellationToken cancellationToken)
    {
        using var detector = new AnomalyDetector(options);
        var clock = Stopwatch.StartNew();
        detector.Fit(train, new Relay(onTraining), cancellationToken);
        double seconds = clock.Elapsed.TotalSeconds;
        var held = detector.HeldOutIndices(train.Count);
        var calibrationImages = ImageSources.Subset(train, held.Count > 0 ? held : Enumerable.Range(0, train.Count).ToList());
        return ScoreEveryWay(detector, calibrationImages, validation, selection, cancellationToken)
            .Select(c => c with { Division = division, Temperature = temperature, TrainingSeconds = seconds })
            .ToList();
    }

    /// <summary>
    /// Scores a trained model on labelled images with every residual kind and pooling of
    /// <paramref name="selection"/>, without retraining: per residual kind the model scores the
    /// calibration images and the labelled images once (a multi-scale residual's normalisers come from
    /// the calibration images), and every pooling is computed from the same maps as the scorer pools
    /// them (R from the raw map's mean, or from the smoothed map's top fraction or maximum), combined
    /// with L through that pooling's calibration statistics for DAAD+. The model is left with the last
    /// scoring tried.
    /// </summary>
    /// <param name="detector">A trained model.</param>
    /// <param name="calibrationImages">Normal images training held back (see <see cref="AnomalyDetector.HeldOutIndices"/>).</param>
    /// <param name="images">Labelled images to measure AUROC on.</param>
    /// <param name="selection">The residual kinds, poolings and top fractions to try; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <returns>One row per residual kind and pooling (training time 0, epochs as the model's options say).</returns>
    public static IReadOnlyList<SelectionCandidate> ScoreEveryWay(
        AnomalyDetector detector, IImageSource calibrationImages, ILabeledImageSource images, SelectionOptions? selection = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(calibrationImages);
        ArgumentNullException.ThrowIfNull(images);
        selection ??= new SelectionOptions();
        CheckSelectionOptions(selection);
        var options = detector.Options;
        var labels = Enumerable.Range(0, images.Count).Select(images.GetLabel).ToArray();
        var rows = new List<SelectionCandidate>();
        foreach (var residual in selection.Residuals.Distinct())
        {
            var scoring = options.Scoring.Clone();
            scoring.Residual = residual;
            scoring.Pooling = ImageScorePooling.Mean;
            if (residual == ResidualKind.MultiScale && scoring.ResidualSigma == 0)
            {
                scoring.ResidualSigma = null;
            }

            detector.ChangeScoring(scoring, calibrationImages, cancellationToken);
            double memoryWeight = detector.Options.EffectiveMemoryWeight();
            var calibration = detector.Score(calibrationImages, cancellationToken);
            var results = new AnomalyResult[images.Count];
            var report = Evaluator.Evaluate(detector, images, onImage: (i, r) => results[i] = r, cancellationToken: cancellationToken);
            foreach (var (pooling, fraction) in Poolings(selection))
            {
                double Pool(AnomalyResult r) => pooling switch
                {
                    ImageScorePooling.Mean => r.ReconstructionError,
                    ImageScorePooling.Max => r.AnomalyMap.Max(),
                    _ => TopMean(r.AnomalyMap, fraction),
                };

                var (mean, std) = MeanStd(calibration.Select(Pool).ToList());
                var (lMean, lStd) = MeanStd(calibration.Select(r => r.AlignmentError ?? 0).ToList());
                var (mMean, mStd) = MeanStd(calibration.Select(r => r.MemoryDistance ?? 0).ToList());
                var pooled = new ScoreCalibration(mean, std, lMean, lStd, double.NaN, double.NaN, calibration.Count, true) { MemoryMean = mMean, MemoryStd = mStd };
                var scores = results.Select(r => pooled.Combine(Pool(r), r.AlignmentError, r.MemoryDistance, scoring.Gamma, memoryWeight)).ToList();
                double auroc = pooling == ImageScorePooling.Mean ? report.ImageAuroc : Metrics.Auroc(scores, labels);
                rows.Add(new SelectionCandidate(options.Network.DescribeDivision(), options.Network.MemoryTemperature, residual, pooling, auroc, report.PixelAuroc, 0, options.Training.Epochs)
                {
                    TopFraction = pooling == ImageScorePooling.TopMean ? fraction : null,
                });
            }
        }

        return rows;
    }

    /// <summary>The poolings to try: each of <see cref="SelectionOptions.Poolings"/>, top-mean once per fraction.</summary>
    private static List<(ImageScorePooling Pooling, double Fraction)> Poolings(SelectionOptions selection) =>
        selection.Poolings.Distinct()
            .SelectMany(p => p == ImageScorePooling.TopMean ? selection.TopFractions.Distinct().Select(f => (p, f)) : new[] { (p, 0.0) })
            .ToList();

    /// <summary>The mean of the highest <paramref name="fraction"/> of <paramref name="map"/>, as the scorer's top-mean pooling.</summary>
    private static double TopMean(float[] map, double fraction)
    {
        int k = Scoring.AnomalyMaps.TopCount(map.Length, fraction);
        var sorted = (float[])map.Clone();
        Array.Sort(sorted);
        double sum = 0;
        for (int i = sorted.Length - k; i < sorted.Length; i++)
        {
            sum += sorted[i];
        }

        return sum / k;
    }

    private static (double Mean, double Std) MeanStd(List<double> values)
    {
        double mean = values.Average();
        return (mean, Math.Max(Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count), 1e-12));
    }

    /// <summary>The median of three timed training steps (after one untimed) of a throw-away model of these options.</summary>
    private static double MeasureStep(DaadOptions options, IImageSource images, CancellationToken cancellationToken)
    {
        using var probe = new AnomalyDetector(options);
        var times = probe.TimeTrainingSteps(images, 4, cancellationToken).Skip(1).OrderBy(t => t).ToArray();
        return times[times.Length / 2];
    }

    /// <summary>
    /// The choice: the best row (highest image AUROC, then pixel AUROC, then the earliest), unless the
    /// configured settings' row is within <see cref="SelectionOptions.RequiredStandardErrors"/> standard
    /// errors of it, in which case the configured settings stay. A validation split of a few dozen
    /// synthetic defects measures AUROC to about ±0.06, so without this rule the winner among twenty
    /// scorings is often the luckiest, not the best.
    /// </summary>
    internal static (SelectionCandidate Winner, SelectionCandidate? Configured, double? RequiredGain) Choose(
        IReadOnlyList<SelectionCandidate> rows, DaadOptions options, SelectionOptions selection, int anomalous, int normal)
    {
        if (rows.Count == 0)
        {
            throw new InvalidOperationException("No candidate finished within the budget; raise the budget.");
        }

        var best = rows[0];
        foreach (var row in rows.Skip(1))
        {
            if (row.ImageAuroc > best.ImageAuroc || (row.ImageAuroc == best.ImageAuroc && (row.PixelAuroc ?? 0) > (best.PixelAuroc ?? 0)))
            {
                best = row;
            }
        }

        string division = options.Network.DescribeDivision();
        var scoring = options.Scoring;
        var configured = rows.FirstOrDefault(r =>
            r.Division == division
            && r.Temperature == options.Network.MemoryTemperature
            && r.Residual == scoring.Residual
            && r.Pooling == scoring.Pooling
            && (r.Pooling != ImageScorePooling.TopMean || r.TopFraction == scoring.TopFraction));
        if (configured is null)
        {
            return (best, null, null);
        }

        double gain = selection.RequiredStandardErrors * Metrics.AurocStandardError(configured.ImageAuroc, anomalous, normal);
        return (best.ImageAuroc - configured.ImageAuroc > gain ? best : configured, configured, gain);
    }

    /// <summary>What a state file must match to be continued: the options, the selection options and the data's shape.</summary>
    private static string Signature(DaadOptions options, SelectionOptions selection, int train, int validation, int all, string description) =>
        JsonSerializer.Serialize(new { options = ModelMetadata.OptionsToJson(options), selection = JsonSerializer.Serialize(selection, ModelMetadata.Json), train, validation, all, description });

    /// <summary>Passes training progress on, on the reporting thread.</summary>
    private sealed class Relay(Action<TrainingProgress> action) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => action(value);
    }

    /// <summary>A selection's progress on disk.</summary>
    private sealed class SelectionState
    {
        public string Signature { get; set; } = string.Empty;

        public double? StepSeconds { get; set; }

        public double SecondsSpent { get; set; }

        public List<string> Done { get; set; } = new();

        public List<double> CandidateSeconds { get; set; } = new();

        public List<SelectionCandidate> Rows { get; set; } = new();

        public static SelectionState Load(string? path, string signature)
        {
            if (path is null || !File.Exists(path))
            {
                return new SelectionState { Signature = signature };
            }

            SelectionState? state;
            try
            {
                state = JsonSerializer.Deserialize<SelectionState>(File.ReadAllText(path), ModelMetadata.Json);
            }
            catch (JsonException ex)
            {
                throw new ArgumentException($"The selection state file '{path}' is not valid JSON ({ex.Message}); delete it to start over.", nameof(path), ex);
            }

            if (state is null || state.Signature != signature)
            {
                throw new ArgumentException($"The selection state file '{path}' belongs to another selection (other options or data); delete it to start over.", nameof(path));
            }

            return state;
        }
    }
}

/// <summary>The outcome of <see cref="ModelSelection"/>: the final model (owned by the caller), what was tried and the final training run.</summary>
/// <param name="Detector">The final model, trained and calibrated with the winner's settings; dispose it.</param>
/// <param name="Report">The candidates and the choice (also in <see cref="AnomalyDetector.Selection"/>, and saved with the model).</param>
/// <param name="Training">The final model's training run.</param>
public sealed record SelectionResult(AnomalyDetector Detector, SelectionReport Report, TrainingSummary Training);
