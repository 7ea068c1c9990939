using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace DivideAssemble.Selection;

/// <summary>
/// One selection from start to end: the division round and the temperature round of network candidates
/// (each trained and scored every way by <see cref="CandidateScorer"/>, within the <see cref="SelectionBudget"/>,
/// recorded in the <see cref="SelectionState"/>), the <see cref="SelectionChoice"/>, and the final model.
/// </summary>
internal sealed class SelectionRun : IDisposable
{
    private readonly DaadOptions options;
    private readonly SelectionOptions selection;
    private readonly IImageSource train;
    private readonly ILabeledImageSource validation;
    private readonly IImageSource allTraining;
    private readonly string description;
    private readonly string? statePath;
    private readonly IProgress<SelectionProgress>? progress;
    private readonly ILogger logger;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly SelectionState state;
    private readonly double secondsBefore;

    // Candidates trained on every training image for as many epochs as the final model, by name: the winner's is the final model.
    private readonly Dictionary<string, (AnomalyDetector Detector, TrainingSummary Summary)> trained = new(StringComparer.Ordinal);

    public SelectionRun(
        DaadOptions options, SelectionOptions selection, IImageSource train, ILabeledImageSource validation, IImageSource allTraining, string description,
        string? statePath, IProgress<SelectionProgress>? progress, ILogger logger)
    {
        this.options = options;
        this.selection = selection;
        this.train = train;
        this.validation = validation;
        this.allTraining = allTraining;
        this.description = description;
        this.statePath = statePath;
        this.progress = progress;
        this.logger = logger;
        state = SelectionState.Load(statePath, SelectionState.SignatureOf(options, selection, train.Count, validation.Count, allTraining.Count, description));
        secondsBefore = state.SecondsSpent;
    }

    private double SecondsSpent => secondsBefore + clock.Elapsed.TotalSeconds;

    /// <summary>Trains and scores the network candidates of both rounds (those the state already has are not repeated) and makes the choice.</summary>
    /// <exception cref="ArgumentException">A division does not fit, or the budget is below one candidate.</exception>
    public SelectionReport ScoreCandidates(CancellationToken cancellationToken)
    {
        var divisions = selection.Divisions?.ToList() ?? NetworkCandidates.DefaultDivisions(options.Network);
        var networks = divisions.Select(d => (Division: d, Temperature: options.Network.MemoryTemperature)).ToList();
        int epochs = Math.Max(1, (int)Math.Round(options.Training.Epochs * selection.CandidateEpochFraction));
        foreach (var (division, temperature) in networks)
        {
            _ = NetworkCandidates.Options(options, division, temperature, epochs); // every planned division is valid before anything trains
        }

        var budget = SelectionBudget.Plan(state, NetworkCandidates.Options(options, networks[0].Division, networks[0].Temperature, epochs), options, selection, train, allTraining.Count, cancellationToken);
        Save();
        var skipped = new List<string>();
        int planned = networks.Count + (selection.Temperatures?.Count ?? 2);
        Round(networks, budget, planned, skipped, cancellationToken);

        // The temperature round, around the best division so far.
        var best = Choose().Winner;
        Round(NetworkCandidates.Temperatures(options.Network, selection).Select(t => (best.Division, t)).ToList(), budget, planned, skipped, cancellationToken);

        var (winner, configured, gain) = Choose();
        var report = new SelectionReport(state.Rows.ToList(), winner, description, budget.TotalSeconds, SecondsSpent, skipped)
        {
            Configured = configured,
            RequiredGain = gain,
        };
        logger.LogInformation("{Choice}", report.Describe());
        return report;
    }

    /// <summary>
    /// Trains the final model with the winner's settings on every training image (resuming its checkpoint
    /// beside the state file), then removes the state; when a head model's winner scores by reconstruction
    /// (head weight 0) the final model has no head.
    /// </summary>
    public (AnomalyDetector Detector, TrainingSummary Summary) TrainFinal(SelectionReport report, CancellationToken cancellationToken)
    {
        var winner = report.Winner;
        var final = NetworkCandidates.Options(options, winner.Division, winner.Temperature, options.Training.Epochs);
        final.Scoring.Residual = winner.Residual;
        final.Scoring.Pooling = winner.Pooling;
        final.Scoring.TopFraction = winner.TopFraction ?? final.Scoring.TopFraction;
        final.Scoring.HeadWeight = winner.HeadWeight ?? final.Scoring.HeadWeight;
        final.Scoring = Scoring.ScoringMethods.Current.Residual(winner.Residual).ForSelection(final.Scoring);
        if (trained.Remove(NetworkCandidates.Name(winner.Division, winner.Temperature), out var reused))
        {
            // The winner trained on every training image with the final model's options: scored the winner's way, it is the final model.
            var calibration = reused.Detector.ChangeScoring(final.Scoring, CandidateScorer.CalibrationImages(reused.Detector, allTraining), cancellationToken);
            reused.Detector.Selection = report;
            DeleteState();
            return (reused.Detector, reused.Summary with { Calibration = calibration });
        }

        if (winner.HeadWeight == 0)
        {
            // Reconstruction won and the final model trains anew: without the head, which would not score (the generator trains the same).
            final.Network.HeadWidth = 0;
            final.Training.HeadEpochs = null;
            final.Scoring.HeadWeight = null;
        }

        string stage = "training the final model";
        progress?.Report(new SelectionProgress(stage, state.Done.Count, state.Done.Count, clock.Elapsed, null));
        var training = progress is null ? null : new SynchronousProgress<TrainingProgress>(t => progress.Report(new SelectionProgress(stage, state.Done.Count, state.Done.Count, clock.Elapsed, t)));
        string? checkpoint = CheckpointPath;
        AnomalyDetector detector;
        TrainingSummary summary;
        if (checkpoint is not null && File.Exists(checkpoint))
        {
            (detector, summary) = AnomalyDetector.Resume(checkpoint, allTraining, training, logger, cancellationToken);
        }
        else
        {
            detector = new AnomalyDetector(final, logger);
            try
            {
                summary = checkpoint is null
                    ? detector.Fit(allTraining, training, cancellationToken)
                    : detector.FitWithCheckpoints(allTraining, checkpoint, training, cancellationToken);
            }
            catch
            {
                detector.Dispose();
                throw;
            }
        }

        detector.Selection = report;
        DeleteState();
        return (detector, summary);
    }

    /// <summary>Disposes the candidates kept for reuse that did not become the final model.</summary>
    public void Dispose()
    {
        foreach (var (detector, _) in trained.Values)
        {
            detector.Dispose();
        }

        trained.Clear();
    }

    /// <summary>
    /// Whether each candidate is a final model in waiting: it trains on every training image (the caller
    /// judges on images of its own, <c>--select-on</c>) for as many epochs as the final model, so the
    /// winner's candidate is kept instead of trained again.
    /// </summary>
    private bool CandidatesAreFinalModels(SelectionBudget budget) => ReferenceEquals(train, allTraining) && budget.CandidateEpochs == options.Training.Epochs;

    /// <summary>Gets the final model's checkpoint beside the state file (none without one).</summary>
    private string? CheckpointPath => statePath is null ? null : statePath + ".checkpoint";

    private void DeleteState()
    {
        if (statePath is not null)
        {
            File.Delete(statePath);
            File.Delete(CheckpointPath!);
        }
    }

    private void Round(List<(string Division, double Temperature)> networks, SelectionBudget budget, int planned, List<string> skipped, CancellationToken cancellationToken)
    {
        foreach (var (division, temperature) in networks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string name = NetworkCandidates.Name(division, temperature);
            if (state.Done.Contains(name))
            {
                continue;
            }

            // Budget: what this session spent plus what earlier sessions recorded; a candidate is
            // expected to cost what finished ones cost on average (training and scoring), at least the estimate.
            if (budget.Exceeded(SecondsSpent, state.CandidateSeconds))
            {
                skipped.Add(name);
                logger.LogInformation("Selection skips {Candidate}: {Spent:F0} s spent of {Budget:F0} s", name, SecondsSpent, budget.TotalSeconds);
                continue;
            }

            string stage = $"training {name}";
            progress?.Report(new SelectionProgress(stage, state.Done.Count, planned, clock.Elapsed, null));
            var started = clock.Elapsed;
            var training = new SynchronousProgress<TrainingProgress>(t => progress?.Report(new SelectionProgress(stage, state.Done.Count, planned, clock.Elapsed, t)));
            var candidate = NetworkCandidates.Options(options, division, temperature, budget.CandidateEpochs);
            bool keep = CandidatesAreFinalModels(budget);
            var (rows, kept, summary) = CandidateScorer.TrainAndScore(candidate, division, temperature, train, validation, selection, training, keep, cancellationToken);
            if (kept is not null)
            {
                trained[name] = (kept, summary);
            }

            state.Rows.AddRange(rows);
            state.Done.Add(name);
            state.CandidateSeconds.Add((clock.Elapsed - started).TotalSeconds);
            Save();
        }
    }

    private (SelectionCandidate Winner, SelectionCandidate? Configured, double? RequiredGain) Choose()
    {
        var labels = Enumerable.Range(0, validation.Count).Select(validation.GetLabel).ToArray();
        int anomalous = labels.Count(l => l == 1);
        return SelectionChoice.Choose(state.Rows, options, selection, anomalous, labels.Length - anomalous);
    }

    private void Save()
    {
        state.SecondsSpent = SecondsSpent;
        state.Save(statePath);
    }
}
