using System.ComponentModel.DataAnnotations;

namespace DivideAssemble;

/// <summary>Options of scoring: the anomaly map, the image score and calibration of the thresholds.</summary>
public sealed class ScoringOptions
{
    /// <summary>Gets or sets γ of eq. 7, the weight of the normalised reconstruction score against the alignment score (DAAD+).</summary>
    /// <value>The default value is 0.9 (the paper's).</value>
    [Range(0.0, 1.0)]
    public double Gamma { get; set; } = 0.9;

    /// <summary>
    /// Gets or sets the standard deviation, in pixels at input resolution, of the Gaussian that
    /// smooths the anomaly map; 0 turns smoothing off; <see langword="null"/> uses S/32 (4 px at 128×128).
    /// </summary>
    /// <value>The default value is <see langword="null"/> (S/32).</value>
    [Range(0.0, 256.0)]
    public double? SmoothingSigma { get; set; }

    /// <summary>
    /// Gets or sets the standard deviation, in pixels, of a Gaussian applied to the signed residual
    /// x − x̂ (per channel) before it is squared; 0 squares the raw residual (the paper's map).
    /// Low-passing the residual ignores the fine texture no autoencoder reproduces and keeps
    /// deviations of local intensity and structure, which is what most defects are.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: S/64 pixels (2 at 128×128, 0.5 at 32×32; docs/defaults.md says why).</value>
    [Range(0.0, 256.0)]
    public double? ResidualSigma { get; set; }

    /// <summary>Gets or sets what the residual map measures: one low-pass scale or several, each normalised on normal pixels.</summary>
    /// <value>The default value is <see cref="ResidualKind.LowPass"/>.</value>
    public ResidualKind Residual { get; set; } = ResidualKind.LowPass;

    /// <summary>Returns <see cref="SmoothingSigma"/> resolved for an image side <paramref name="imageSize"/>.</summary>
    public double MapSigma(int imageSize) => SmoothingSigma ?? imageSize / 32.0;

    /// <summary>Returns <see cref="ResidualSigma"/> resolved for an image side <paramref name="imageSize"/>.</summary>
    public double ResidualFilterSigma(int imageSize) => ResidualSigma ?? imageSize / 64.0;

    /// <summary>Gets or sets how the reconstruction score R(x) is pooled from the anomaly map.</summary>
    /// <value>The default value is <see cref="ImageScorePooling.TopMean"/> (the paper's is <see cref="ImageScorePooling.Mean"/>; docs/defaults.md says why).</value>
    public ImageScorePooling Pooling { get; set; } = ImageScorePooling.TopMean;

    /// <summary>Gets or sets the fraction of highest map values averaged by <see cref="ImageScorePooling.TopMean"/>.</summary>
    /// <value>The default value is 0.03.</value>
    [Range(1e-6, 1.0)]
    public double TopFraction { get; set; } = 0.03;

    /// <summary>Gets or sets the false-positive rate on held-back normal images at which the image threshold is calibrated.</summary>
    /// <value>The default value is 0.05.</value>
    [Range(0.0, 1.0)]
    public double TargetFalsePositiveRate { get; set; } = 0.05;

    /// <summary>Gets or sets the fraction of normal pixels allowed above the pixel threshold that draws defect masks.</summary>
    /// <value>The default value is 0.001.</value>
    [Range(0.0, 1.0)]
    public double PixelFalsePositiveRate { get; set; } = 0.001;

    /// <summary>
    /// Gets or sets β, the weight of the memory distance M(x) in the image score:
    /// <c>A = (1 − β)·(γ·R̃ + (1 − γ)·L̃) + β·M̃</c>, where M(x) is the mean over the finest memory scale's
    /// blocks of <c>1 − max_i cos(q, m_i)</c> (how far the image's features are from the nearest normal
    /// pattern in memory) and M̃ its z-score on normal images. 0 scores by reconstruction (and alignment) alone;
    /// <see langword="null"/> resolves with <see cref="DaadOptions.EffectiveMemoryWeight"/>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <see cref="DefaultMemoryWeight"/> when the memory holds whole feature maps and its items started from training images, else 0 (docs/defaults.md says why).</value>
    [Range(0.0, 1.0)]
    public double? MemoryWeight { get; set; }

    /// <summary>
    /// Gets or sets w, the weight of the discriminative head's image score H(x) (its anomaly map pooled as R is,
    /// z-scored on normal images): <c>A = (1 − w)·A_rec + w·H̃</c>, where <c>A_rec</c> is the score without the head
    /// (reconstruction, alignment and memory distance). With w &gt; 0 the head's map is the anomaly map.
    /// <see langword="null"/> resolves with <see cref="DaadOptions.EffectiveHeadWeight"/>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: <see cref="DefaultHeadWeight"/> when the model has a head, else 0 (docs/synthetic-anomalies.md says why). Model files store the number; one written before 0.5 was the default that left it unset scores at 1, as it did.</value>
    [Range(0.0, 1.0)]
    public double? HeadWeight { get; set; }

    /// <summary>
    /// Gets or sets whether each image is scored as the mean of its views under the flips training applied
    /// (<see cref="TrainingOptions.HorizontalFlip"/>, <see cref="TrainingOptions.VerticalFlip"/>: the image, and its
    /// mirror images the model learned as normal): every view is reconstructed and scored, each view's maps flipped
    /// back and averaged before the image score is pooled, and L(x), M(x) averaged over the views. Four views with
    /// both flips, two with one; a model trained without flips scores one view either way. It costs as many
    /// network passes per image as there are views. <see langword="null"/> resolves with <see cref="DaadOptions.ScoringFlips"/>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: on (<see cref="DefaultFlipAveraging"/>; docs/defaults.md says why). Model files store the value; one written before flip averaging existed scores one view, as it did.</value>
    public bool? FlipAveraging { get; set; }

    /// <summary>Whether <see cref="FlipAveraging"/> = <see langword="null"/> averages over the training's flips.</summary>
    public const bool DefaultFlipAveraging = true;

    /// <summary>The head weight w that <see cref="HeadWeight"/> = <see langword="null"/> gives a model with a discriminative head: the mean of the z-scored reconstruction and head scores.</summary>
    public const double DefaultHeadWeight = 0.5;

    /// <summary>The memory weight β that <see cref="MemoryWeight"/> = <see langword="null"/> gives a whole-map memory whose items started from training images.</summary>
    public const double DefaultMemoryWeight = 0.75;

    /// <summary>Gets or sets a manual image threshold on the combined score; <see langword="null"/> uses the calibrated one.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public double? Threshold { get; set; }

    /// <summary>Returns a copy.</summary>
    public ScoringOptions Clone() => (ScoringOptions)MemberwiseClone();
}
