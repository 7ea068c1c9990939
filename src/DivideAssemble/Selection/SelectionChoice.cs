using DivideAssemble.Evaluation;

namespace DivideAssemble.Selection;

/// <summary>
/// The choice among scored candidates: the best row (highest image AUROC, then pixel AUROC, then the
/// earliest), unless the configured settings' row is within <see cref="SelectionOptions.RequiredStandardErrors"/>
/// standard errors of it, in which case the configured settings stay. A validation split of a few dozen
/// synthetic defects measures AUROC to about ±0.06, so without this rule the winner among twenty
/// scorings is often the luckiest, not the best.
/// </summary>
internal static class SelectionChoice
{
    /// <exception cref="InvalidOperationException">No candidate finished.</exception>
    public static (SelectionCandidate Winner, SelectionCandidate? Configured, double? RequiredGain) Choose(
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
            && (r.TopFraction is null || r.TopFraction == scoring.TopFraction)
            && (r.HeadWeight is null || r.HeadWeight == options.EffectiveHeadWeight()));
        if (configured is null)
        {
            return (best, null, null);
        }

        double gain = selection.RequiredStandardErrors * Metrics.AurocStandardError(configured.ImageAuroc, anomalous, normal);
        return (best.ImageAuroc - configured.ImageAuroc > gain ? best : configured, configured, gain);
    }
}
