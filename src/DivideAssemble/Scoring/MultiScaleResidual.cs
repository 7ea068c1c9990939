namespace DivideAssemble.Scoring;

/// <summary>
/// The squared residual low-passed at σ/2, σ, 2σ and 4σ (σ = <see cref="ScoringOptions.ResidualSigma"/>), each
/// divided by its 99th percentile over held-back normal pixels, the largest of the four kept per pixel: a
/// faint defect that is clear at one scale is not drowned by texture at another.
/// </summary>
internal sealed class MultiScaleResidual : ResidualMethod
{
    public override ResidualKind Name => ResidualKind.MultiScale;

    public override bool NormalisesScales => true;

    public override IReadOnlyList<double> Sigmas(ScoringOptions scoring, int imageSize)
    {
        double sigma = scoring.ResidualFilterSigma(imageSize);
        return new[] { sigma / 2, sigma, 2 * sigma, 4 * sigma };
    }

    public override ScoringOptions ForSelection(ScoringOptions scoring)
    {
        if (scoring.ResidualSigma != 0)
        {
            return scoring;
        }

        var copy = scoring.Clone();
        copy.ResidualSigma = null;
        return copy;
    }

    public override IEnumerable<string> Validate(ScoringOptions scoring)
    {
        if (scoring.ResidualSigma == 0)
        {
            yield return "Scoring.Residual: MultiScale filters the residual at ResidualSigma/2 to 4·ResidualSigma; ResidualSigma must not be 0 (leave it unset for S/64).";
        }
    }
}
