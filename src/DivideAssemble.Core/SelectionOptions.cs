using System.ComponentModel.DataAnnotations;

namespace DivideAssemble;

/// <summary>
/// What model selection (<c>daad train --select</c>, <c>ModelSelection.Select</c>) tries and how long it
/// may take. Network settings (block division, then memory temperature) are trained once each on part of
/// the normal images; every scoring setting (residual kind × pooling) is tried on each trained candidate
/// without retraining; the winner by validation image AUROC (the configured settings unless beaten by
/// more than <see cref="RequiredStandardErrors"/> standard errors) is trained on all images.
/// </summary>
public sealed class SelectionOptions
{
    /// <summary>
    /// Gets or sets the time the candidates may take (the final model's training comes on top);
    /// <see langword="null"/> allows 3.5 times the final model's estimated training time, so selection
    /// and the final model finish within about five training runs.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? Budget { get; set; }

    /// <summary>
    /// Gets or sets the fraction of the final model's epochs each candidate trains (at least one epoch).
    /// Shorter candidates fit more of them into the budget, but a setting that wins early in training
    /// need not win at the end: on digits, 2-epoch candidates chose a multi-scale residual that lost
    /// 0.01–0.04 test AUROC in the 5-epoch final model (docs/results.md).
    /// </summary>
    /// <value>The default value is 1: candidates train as long as the final model.</value>
    [Range(0.01, 1.0)]
    public double CandidateEpochFraction { get; set; } = 1.0;

    /// <summary>
    /// Gets or sets the block divisions to try (<c>"r_h,r_w,r_c"</c> or <c>"pixel"</c>); <see langword="null"/>
    /// tries the size-derived default r (<see cref="NetworkOptions.DefaultBlockRatio"/>), r/2, 2r and r/4 where they fit.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public IList<string>? Divisions { get; set; }

    /// <summary>
    /// Gets or sets the memory temperatures to try with the best division after the first round;
    /// <see langword="null"/> tries half and three times the configured temperature; empty tries none.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public IList<double>? Temperatures { get; set; }

    /// <summary>Gets or sets the residual kinds to score each candidate with.</summary>
    /// <value>The default value is both kinds.</value>
    public IList<ResidualKind> Residuals { get; set; } = new List<ResidualKind> { ResidualKind.LowPass, ResidualKind.MultiScale };

    /// <summary>Gets or sets the poolings to score each candidate with.</summary>
    /// <value>The default value is mean, top-mean and max.</value>
    public IList<ImageScorePooling> Poolings { get; set; } = new List<ImageScorePooling> { ImageScorePooling.Mean, ImageScorePooling.TopMean, ImageScorePooling.Max };

    /// <summary>
    /// Gets or sets the head weights (<see cref="ScoringOptions.HeadWeight"/>) tried on a model with a
    /// discriminative head: 0 scores by reconstruction, 1 by the head alone, 0.5 by the mean of both (z-scored).
    /// </summary>
    /// <value>The default value is 0, 0.5 and 1.</value>
    public IList<double> HeadWeights { get; set; } = new List<double> { 0, 0.5, 1 };

    /// <summary>Gets or sets the fractions tried with <see cref="ImageScorePooling.TopMean"/> (each is one candidate).</summary>
    /// <value>The default value is 0.01, 0.03 and 0.1.</value>
    public IList<double> TopFractions { get; set; } = new List<double> { 0.01, 0.03, 0.1 };

    /// <summary>
    /// Gets or sets how many standard errors of the configured settings' validation AUROC (Hanley and
    /// McNeil's, from the numbers of normal and anomalous validation images) the best candidate must gain
    /// over them to replace them; 0 takes the best candidate whatever the margin.
    /// </summary>
    /// <value>The default value is 1: a small validation split changes the settings only on clear evidence.</value>
    [Range(0.0, 10.0)]
    public double RequiredStandardErrors { get; set; } = 1.0;

    /// <summary>Returns a deep copy.</summary>
    /// <returns>The copy.</returns>
    public SelectionOptions Clone() => new()
    {
        Budget = Budget,
        CandidateEpochFraction = CandidateEpochFraction,
        Divisions = Divisions?.ToList(),
        Temperatures = Temperatures?.ToList(),
        Residuals = Residuals.ToList(),
        Poolings = Poolings.ToList(),
        TopFractions = TopFractions.ToList(),
        HeadWeights = HeadWeights.ToList(),
        RequiredStandardErrors = RequiredStandardErrors,
    };
}

/// <summary>One tried setting and how it did on the validation split.</summary>
/// <param name="Division">The block division (<c>r_h,r_w,r_c</c> or <c>pixel</c>).</param>
/// <param name="Temperature">The memory temperature.</param>
/// <param name="Residual">The residual kind.</param>
/// <param name="Pooling">The pooling.</param>
/// <param name="ImageAuroc">Validation image AUROC.</param>
/// <param name="PixelAuroc">Validation pixel AUROC, when the validation images have masks.</param>
/// <param name="TrainingSeconds">Training time of the network candidate (shared by its scoring rows).</param>
/// <param name="Epochs">Epochs the candidate trained.</param>
public sealed record SelectionCandidate(
    string Division,
    double Temperature,
    ResidualKind Residual,
    ImageScorePooling Pooling,
    double ImageAuroc,
    double? PixelAuroc,
    double TrainingSeconds,
    int Epochs)
{
    /// <summary>Gets the fraction of <see cref="ImageScorePooling.TopMean"/> pooling (<see langword="null"/> for the other poolings).</summary>
    public double? TopFraction { get; init; }

    /// <summary>Gets the head weight of the row (0: scored by reconstruction, 1: by the discriminative head); <see langword="null"/> for a model without a head.</summary>
    public double? HeadWeight { get; init; }

    /// <summary>Describes what scores the row: <c>head</c>, <c>reconstruction</c>, or for a mix the head's weight; empty without a head.</summary>
    /// <returns>The text.</returns>
    public string DescribeScore() => HeadWeight switch
    {
        null => string.Empty,
        0 => "reconstruction",
        1 => "head",
        double w => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"head {w:G3}"),
    };

    /// <summary>Describes the pooling, with its fraction for top-mean.</summary>
    /// <returns>For example <c>TopMean 0.03</c>.</returns>
    public string DescribePooling() => TopFraction is { } f ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Pooling} {f:G3}") : Pooling.ToString();
}

/// <summary>What selection tried, what it chose, and what it cost; stored in the model file.</summary>
/// <param name="Candidates">Every scored candidate, in the order tried.</param>
/// <param name="Winner">The chosen candidate: the highest validation image AUROC (then pixel AUROC, then the earliest), unless the configured settings came within <see cref="RequiredGain"/> of it.</param>
/// <param name="Validation">The validation split, as described by its loader.</param>
/// <param name="BudgetSeconds">The time budget of the candidates.</param>
/// <param name="SelectionSeconds">Time spent on the candidates (training, scoring, calibration).</param>
/// <param name="SkippedForBudget">Network candidates not trained because the budget would have been exceeded.</param>
public sealed record SelectionReport(
    IReadOnlyList<SelectionCandidate> Candidates,
    SelectionCandidate Winner,
    string Validation,
    double BudgetSeconds,
    double SelectionSeconds,
    IReadOnlyList<string> SkippedForBudget)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Print(this, builder);

    /// <summary>Gets the row of the settings selection started from (<see langword="null"/> when they were not among the candidates).</summary>
    public SelectionCandidate? Configured { get; init; }

    /// <summary>Gets the validation image AUROC a candidate had to gain over <see cref="Configured"/> to replace it.</summary>
    public double? RequiredGain { get; init; }

    /// <summary>Describes the choice in one line.</summary>
    /// <returns>The line.</returns>
    public string Describe()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string score = Winner.HeadWeight is null ? string.Empty : ", scored by " + Winner.DescribeScore();
        string line = string.Create(inv, $"selected on validation from {Candidates.Count} candidates in {SelectionSeconds:F0} s: division {Winner.Division}, T {Winner.Temperature:G3}, {Winner.Residual} residual, {Winner.DescribePooling()} pooling{score} (validation image AUROC {Winner.ImageAuroc:F3}{(Winner.PixelAuroc is { } p ? string.Create(inv, $", pixel {p:F3}") : string.Empty)})");
        double best = Candidates.Max(c => c.ImageAuroc);
        return Configured is not null && Winner == Configured && best > Winner.ImageAuroc
            ? line + string.Create(inv, $"; the configured settings kept: the best candidate's {best:F3} is within the required gain of {RequiredGain:F3}")
            : line;
    }

    /// <summary>The candidates as a Markdown table, best first.</summary>
    /// <returns>The table.</returns>
    public string ToMarkdown()
    {
        var sb = new System.Text.StringBuilder();
        bool head = Candidates.Any(c => c.HeadWeight is not null);
        sb.AppendLine(head ? "| division | T | residual | pooling | score | val image AUROC | val pixel AUROC | epochs | train s |" : "| division | T | residual | pooling | val image AUROC | val pixel AUROC | epochs | train s |");
        sb.AppendLine(head ? "|---|---|---|---|---|---|---|---|---|" : "|---|---|---|---|---|---|---|---|");
        foreach (var c in Candidates.OrderByDescending(c => c.ImageAuroc).ThenByDescending(c => c.PixelAuroc ?? 0))
        {
            string mark = c == Winner ? " **(chosen)**" : string.Empty;
            string score = head ? $" {c.DescribeScore()} |" : string.Empty;
            sb.AppendLine(string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"| {c.Division}{mark} | {c.Temperature:G3} | {c.Residual} | {c.DescribePooling()} |{score} {c.ImageAuroc:F3} | {(c.PixelAuroc is { } p ? p.ToString("F3", System.Globalization.CultureInfo.InvariantCulture) : "—")} | {c.Epochs} | {c.TrainingSeconds:F0} |"));
        }

        if (SkippedForBudget.Count > 0)
        {
            sb.AppendLine().AppendLine("Not trained for the budget: " + string.Join("; ", SkippedForBudget) + ".");
        }

        if (Configured is not null && RequiredGain is { } gain)
        {
            sb.AppendLine().AppendLine(string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"The configured settings (division {Configured.Division}, T {Configured.Temperature:G3}, {Configured.Residual}, {Configured.DescribePooling()}) scored {Configured.ImageAuroc:F3}; a candidate had to beat them by more than {gain:F3} (SelectionOptions.RequiredStandardErrors standard errors of that AUROC) to replace them."));
        }

        return sb.ToString();
    }
}

/// <summary>Progress of model selection.</summary>
/// <param name="Stage">What is happening (for people).</param>
/// <param name="CandidatesDone">Network candidates trained and scored so far.</param>
/// <param name="CandidatesPlanned">Network candidates planned so far (the temperature round is planned after the division round).</param>
/// <param name="Elapsed">Time spent so far.</param>
/// <param name="Training">The progress of the training under way, if any.</param>
public sealed record SelectionProgress(string Stage, int CandidatesDone, int CandidatesPlanned, TimeSpan Elapsed, TrainingProgress? Training);
