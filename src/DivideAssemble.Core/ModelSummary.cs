using System.Globalization;

namespace DivideAssemble;

/// <summary>The human-readable description of a trained model that every backend prints the same way (<c>daad info</c>, logs).</summary>
public static class ModelSummary
{
    /// <summary>Describes the variant, geometry, each scale's division and memory, the parameter counts and the calibration.</summary>
    /// <param name="options">The model's options.</param>
    /// <param name="generatorParameters">Learnable parameters of the generator, as trained.</param>
    /// <param name="discriminatorParameters">Learnable parameters of the discriminator (0 without one).</param>
    /// <param name="calibration">The calibration in force, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options describe an impossible network.</exception>
    public static string Describe(DaadOptions options, long generatorParameters, long discriminatorParameters, ScoreCalibration? calibration) =>
        Describe(options, generatorParameters, discriminatorParameters, calibration, null);

    /// <summary>Describes the model as <see cref="Describe(DaadOptions, long, long, ScoreCalibration?)"/> does, and the selection it came from.</summary>
    /// <param name="options">The model's options.</param>
    /// <param name="generatorParameters">Learnable parameters of the generator, as trained.</param>
    /// <param name="discriminatorParameters">Learnable parameters of the discriminator (0 without one).</param>
    /// <param name="calibration">The calibration in force, or <see langword="null"/>.</param>
    /// <param name="selection">What model selection tried and chose, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options describe an impossible network.</exception>
    public static string Describe(DaadOptions options, long generatorParameters, long discriminatorParameters, ScoreCalibration? calibration, SelectionReport? selection)
    {
        ArgumentNullException.ThrowIfNull(options);
        var n = options.Network;
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"{n.Variant} generator, {(n.Channels is { } channels ? channels.ToString(CultureInfo.InvariantCulture) : "C (from the training images)")}×{n.ImageSize}×{n.ImageSize} input, depth {n.Depth}, {generatorParameters:N0} parameters"),
        };
        lines.AddRange(n.PlanScales().Select(p => "  " + p + (p.HasMemory ? string.Create(CultureInfo.InvariantCulture, $", N={n.MemoryItems}") : string.Empty)));
        if (n.HasDiscriminator)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"  discriminator: {discriminatorParameters:N0} parameters, f_D of {n.FeatureDimension}"));
        }

        if (n.HasHead)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"  discriminative head: width {n.ResolvedHeadWidth}, depth {n.HeadDepth}; score weight {options.EffectiveHeadWeight():G3}; {(ScoreCalibration.MixesMaps(options.EffectiveHeadWeight()) && calibration?.HeadMapScale is not null ? "its anomaly probability is mixed into the residual map as the scores are" : options.EffectiveHeadWeight() > 0 ? "its anomaly probability is the anomaly map" : "the residual is the anomaly map")}"));
        }

        if (options.SynthesisesAnomalies())
        {
            var t = options.Training;
            string what = (options.EffectiveRestoration(), n.HasHead) switch
            {
                (true, true) => $"the generator trained to restore them, then the head for {options.EffectiveHeadEpochs()} epochs on the frozen generator's reconstructions",
                (true, false) => "the generator trained to restore them",
                _ => $"the head for {options.EffectiveHeadEpochs()} epochs after the generator, on the frozen generator's reconstructions",
            };
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"  synthetic anomalies ({what}), opacity {t.MinAnomalyOpacity:G3}–{t.MaxAnomalyOpacity:G3}, {t.CleanFraction:P0} of each batch clean"));
        }

        var sc = options.Scoring;
        string residual = string.Create(CultureInfo.InvariantCulture, $"{sc.Residual} residual at σ {sc.ResidualFilterSigma(n.ImageSize):G3} px");
        string pooling = sc.Pooling == ImageScorePooling.TopMean
            ? string.Create(CultureInfo.InvariantCulture, $"{sc.Pooling} (top {sc.TopFraction * 100:G3} %)")
            : sc.Pooling.ToString();
        double beta = options.EffectiveMemoryWeight();
        string memoryDistance = beta > 0 ? string.Create(CultureInfo.InvariantCulture, $", memory distance at weight {beta:G3}") : string.Empty;
        var (horizontal, vertical) = options.ScoringFlips();
        string views = (horizontal, vertical) switch
        {
            (true, true) => "; each image scored as the mean of 4 views (itself and its horizontal, vertical and double flips)",
            (true, false) => "; each image scored as the mean of 2 views (itself and its horizontal flip)",
            (false, true) => "; each image scored as the mean of 2 views (itself and its vertical flip)",
            _ => string.Empty,
        };
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"  scoring: {residual}, map smoothed at σ {sc.MapSigma(n.ImageSize):G3} px, {pooling} pooling{memoryDistance}{views}"));
        if (n.HasMemory)
        {
            lines.Add("  memory items: " + (options.EffectiveMemoryInit() == MemoryInit.Samples ? "started from training images" : "started uniform (±1/√D)"));
        }
        if (calibration is { } c)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"  calibration: {c.ImageCount} normal images ({(c.FromHeldOutImages ? "held out" : "training images")}), threshold {c.Threshold:G5}, pixel threshold {c.PixelThreshold:G5}"));
            if (c.Warning is { } warning)
            {
                lines.Add("  warning: " + warning);
            }
        }

        if (selection is not null)
        {
            lines.Add("  " + selection.Describe());
        }

        return string.Join(Environment.NewLine, lines);
    }
}
