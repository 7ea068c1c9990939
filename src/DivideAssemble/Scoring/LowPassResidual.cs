namespace DivideAssemble.Scoring;

/// <summary>The squared residual low-passed at one scale, <see cref="ScoringOptions.ResidualSigma"/> (σ = 0: the paper's raw squared error).</summary>
internal sealed class LowPassResidual : ResidualMethod
{
    public override ResidualKind Name => ResidualKind.LowPass;

    public override IReadOnlyList<double> Sigmas(ScoringOptions scoring, int imageSize) => new[] { scoring.ResidualFilterSigma(imageSize) };
}
