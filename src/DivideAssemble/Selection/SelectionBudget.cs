using System.Globalization;

namespace DivideAssemble.Selection;

/// <summary>
/// The time plan of a selection: one timed training step estimates a candidate's cost and the final
/// model's; the budget (3.5 final trainings unless set) must hold one candidate before any training, and a
/// candidate is skipped when what was spent plus what a candidate costs would overrun it.
/// </summary>
internal sealed class SelectionBudget
{
    private readonly double stepSeconds;
    private readonly double validationFraction;
    private readonly int batchSize;

    private SelectionBudget(double stepSeconds, DaadOptions options, SelectionOptions selection, int trainCount, int allCount, int candidateEpochs)
    {
        this.stepSeconds = stepSeconds;
        validationFraction = options.Training.ValidationFraction;
        batchSize = options.Training.BatchSize;
        CandidateEpochs = candidateEpochs;
        CandidateSeconds = CostOf(trainCount, candidateEpochs);
        double finalSeconds = CostOf(allCount, options.Training.Epochs);
        TotalSeconds = selection.Budget?.TotalSeconds ?? (3.5 * finalSeconds);
        if (CandidateSeconds > TotalSeconds)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"The selection budget of {TotalSeconds:F0} s is less than one candidate's estimated training time, {CandidateSeconds:F0} s ({candidateEpochs} epochs on {trainCount} images at {stepSeconds * 1000:F0} ms per step); raise the budget or lower CandidateEpochFraction."),
                nameof(selection));
        }
    }

    /// <summary>Gets the epochs each candidate trains.</summary>
    public int CandidateEpochs { get; }

    /// <summary>Gets a candidate's estimated training time.</summary>
    public double CandidateSeconds { get; }

    /// <summary>Gets the time the candidates may take.</summary>
    public double TotalSeconds { get; }

    /// <summary>
    /// Plans a selection: the step time comes from the state (a continued selection) or from timing
    /// <paramref name="probe"/>'s training steps (then it is recorded in the state).
    /// </summary>
    /// <exception cref="ArgumentException">The budget is below one candidate's estimated time.</exception>
    public static SelectionBudget Plan(SelectionState state, DaadOptions probe, DaadOptions options, SelectionOptions selection, IImageSource train, int allCount, CancellationToken cancellationToken)
    {
        int candidateEpochs = Math.Max(1, (int)Math.Round(options.Training.Epochs * selection.CandidateEpochFraction));
        state.StepSeconds ??= MeasureStep(probe, train, cancellationToken);
        return new SelectionBudget(state.StepSeconds.Value, options, selection, train.Count, allCount, candidateEpochs);
    }

    /// <summary>Whether a candidate no longer fits: <paramref name="spentSeconds"/> plus what a candidate costs (finished ones on average, at least the estimate) exceeds the budget.</summary>
    public bool Exceeded(double spentSeconds, IReadOnlyList<double> finishedCandidateSeconds) =>
        spentSeconds + Math.Max(CandidateSeconds, finishedCandidateSeconds.Count > 0 ? finishedCandidateSeconds.Average() : 0) > TotalSeconds;

    /// <summary>The median of three timed training steps (after one untimed) of a throw-away model of these options.</summary>
    private static double MeasureStep(DaadOptions options, IImageSource images, CancellationToken cancellationToken)
    {
        using var probe = new AnomalyDetector(options);
        var times = probe.TimeTrainingSteps(images, 4, cancellationToken).Skip(1).OrderBy(t => t).ToArray();
        return times[times.Length / 2];
    }

    private double CostOf(int images, int epochs) => stepSeconds * epochs * Math.Ceiling(images * (1 - validationFraction) / batchSize);
}
