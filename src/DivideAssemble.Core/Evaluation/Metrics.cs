namespace DivideAssemble.Evaluation;

/// <summary>
/// Exact image-level metrics with scikit-learn's conventions: ties between scores share a
/// threshold, so AUROC counts a tied normal/anomalous pair as one half.
/// </summary>
public static class Metrics
{
    /// <summary>
    /// The standard error of an AUROC measured on <paramref name="anomalous"/> anomalous and
    /// <paramref name="normal"/> normal images, by Hanley and McNeil (1982):
    /// <c>√((A(1−A) + (n₁−1)(Q₁−A²) + (n₀−1)(Q₂−A²)) / (n₁n₀))</c> with <c>Q₁ = A/(2−A)</c>, <c>Q₂ = 2A²/(1+A)</c>.
    /// </summary>
    /// <param name="auroc">The measured AUROC.</param>
    /// <param name="anomalous">The number of anomalous images.</param>
    /// <param name="normal">The number of normal images.</param>
    /// <returns>The standard error; 0 when either count is 0.</returns>
    public static double AurocStandardError(double auroc, int anomalous, int normal)
    {
        if (anomalous <= 0 || normal <= 0)
        {
            return 0;
        }

        double a = Math.Clamp(auroc, 0, 1);
        double q1 = a / (2 - a), q2 = 2 * a * a / (1 + a);
        double variance = ((a * (1 - a)) + ((anomalous - 1) * (q1 - (a * a))) + ((normal - 1) * (q2 - (a * a)))) / ((double)anomalous * normal);
        return Math.Sqrt(Math.Max(variance, 0));
    }

    /// <summary>Area under the ROC curve (scikit-learn's <c>roc_auc_score</c>).</summary>
    /// <param name="scores">Scores; higher means more anomalous.</param>
    /// <param name="labels">Labels: 0 normal, 1 anomalous.</param>
    /// <exception cref="ArgumentException">The inputs differ in length, hold a non-finite score or a label other than 0/1, or only one class is present.</exception>
    public static double Auroc(IReadOnlyList<double> scores, IReadOnlyList<int> labels)
    {
        var curve = Roc(scores, labels);
        double area = 0;
        for (int i = 1; i < curve.FalsePositiveRates.Count; i++)
        {
            area += (curve.FalsePositiveRates[i] - curve.FalsePositiveRates[i - 1]) * (curve.TruePositiveRates[i] + curve.TruePositiveRates[i - 1]) / 2;
        }

        return area;
    }

    /// <summary>The ROC curve at every distinct score (descending thresholds), starting at (0, 0).</summary>
    /// <exception cref="ArgumentException">See <see cref="Auroc"/>.</exception>
    public static RocCurve Roc(IReadOnlyList<double> scores, IReadOnlyList<int> labels)
    {
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        var thresholds = new List<double> { double.PositiveInfinity };
        foreach (var (tp, fp, positives, negatives, threshold) in Sweep(scores, labels))
        {
            fpr.Add((double)fp / negatives);
            tpr.Add((double)tp / positives);
            thresholds.Add(threshold);
        }

        return new RocCurve(fpr, tpr, thresholds);
    }

    /// <summary>Average precision (scikit-learn's <c>average_precision_score</c>): Σ (R_n − R_{n−1}) P_n over descending thresholds.</summary>
    /// <exception cref="ArgumentException">See <see cref="Auroc"/>.</exception>
    public static double AveragePrecision(IReadOnlyList<double> scores, IReadOnlyList<int> labels)
    {
        double ap = 0, lastRecall = 0;
        foreach (var (precision, recall, _) in PrecisionRecall(scores, labels))
        {
            ap += (recall - lastRecall) * precision;
            lastRecall = recall;
        }

        return ap;
    }

    /// <summary>The highest F1 over all thresholds and the threshold (predict anomalous when score ≥ threshold) that reaches it.</summary>
    /// <exception cref="ArgumentException">See <see cref="Auroc"/>.</exception>
    public static (double F1, double Threshold) F1Max(IReadOnlyList<double> scores, IReadOnlyList<int> labels)
    {
        double best = -1, threshold = double.NaN;
        foreach (var (precision, recall, t) in PrecisionRecall(scores, labels))
        {
            double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
            if (f1 >= best)
            {
                best = f1;
                threshold = t;
            }
        }

        return (best, threshold);
    }

    private static IEnumerable<(double Precision, double Recall, double Threshold)> PrecisionRecall(IReadOnlyList<double> scores, IReadOnlyList<int> labels) =>
        Sweep(scores, labels).Select(p => ((double)p.TruePositives / (p.TruePositives + p.FalsePositives), (double)p.TruePositives / p.Positives, p.Threshold));

    /// <summary>Cumulative true and false positives at every distinct score, highest first (ties share a threshold).</summary>
    private static IEnumerable<(long TruePositives, long FalsePositives, long Positives, long Negatives, double Threshold)> Sweep(IReadOnlyList<double> scores, IReadOnlyList<int> labels)
    {
        var (sorted, positives, negatives) = Prepare(scores, labels);
        long tp = 0, fp = 0;
        int i = 0;
        while (i < sorted.Length)
        {
            double s = sorted[i].Score;
            while (i < sorted.Length && sorted[i].Score == s)
            {
                tp += sorted[i].Label;
                fp += 1 - sorted[i].Label;
                i++;
            }

            yield return (tp, fp, positives, negatives, s);
        }
    }

    private static ((double Score, int Label)[] Sorted, long Positives, long Negatives) Prepare(IReadOnlyList<double> scores, IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(labels);
        if (scores.Count != labels.Count)
        {
            throw new ArgumentException($"Got {scores.Count} scores but {labels.Count} labels.", nameof(labels));
        }

        long positives = 0;
        var pairs = new (double Score, int Label)[scores.Count];
        for (int i = 0; i < scores.Count; i++)
        {
            if (!double.IsFinite(scores[i]))
            {
                throw new ArgumentException($"Score {i} is {scores[i]}; every score must be finite.", nameof(scores));
            }

            if (labels[i] is not (0 or 1))
            {
                throw new ArgumentException($"Label {i} is {labels[i]}; labels must be 0 (normal) or 1 (anomalous).", nameof(labels));
            }

            positives += labels[i];
            pairs[i] = (scores[i], labels[i]);
        }

        long negatives = scores.Count - positives;
        if (positives == 0 || negatives == 0)
        {
            throw new ArgumentException(
                $"The metric needs both normal and anomalous examples; got {negatives} normal and {positives} anomalous.", nameof(labels));
        }

        Array.Sort(pairs, (a, b) => b.Score.CompareTo(a.Score));
        return (pairs, positives, negatives);
    }
}

/// <summary>A ROC curve: false- and true-positive rates at descending thresholds.</summary>
/// <param name="FalsePositiveRates">False-positive rates, from 0 to 1.</param>
/// <param name="TruePositiveRates">True-positive rates, from 0 to 1.</param>
/// <param name="Thresholds">Thresholds (predict anomalous when score ≥ threshold); the first is +∞.</param>
public sealed record RocCurve(IReadOnlyList<double> FalsePositiveRates, IReadOnlyList<double> TruePositiveRates, IReadOnlyList<double> Thresholds)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Print(this, builder);
}
