namespace DivideAssemble;

/// <summary>The model family to build: the method and the baselines of the paper's ablation.</summary>
public enum ModelVariant
{
    /// <summary>Plain autoencoder: no skip connections, no memory.</summary>
    Autoencoder = 0,

    /// <summary>UNet-like autoencoder with plain skip connections, no memory.</summary>
    AutoencoderSkip = 1,

    /// <summary>MemAE-style: pixel-wise memory on every skip connection.</summary>
    MemAE = 2,

    /// <summary>DAAD: block-wise memory on every skip connection, reconstruction loss only.</summary>
    Daad = 3,

    /// <summary>DAAD+: DAAD trained adversarially with a DCGAN discriminator whose features give an alignment score.</summary>
    DaadPlus = 4,
}

/// <summary>How one image's score is pooled from its per-pixel anomaly map.</summary>
public enum ImageScorePooling
{
    /// <summary>The mean squared error over all pixels (the paper's R(x)).</summary>
    Mean = 0,

    /// <summary>The maximum of the (smoothed) anomaly map: sensitive to small local defects.</summary>
    Max = 1,

    /// <summary>The mean of the highest <see cref="ScoringOptions.TopFraction"/> of map values.</summary>
    TopMean = 2,
}

/// <summary>What the residual map measures before it is pooled (docs/scoring.md).</summary>
public enum ResidualKind
{
    /// <summary>The squared residual low-passed at one scale, <see cref="ScoringOptions.ResidualSigma"/> (σ = 0: the paper's raw squared error).</summary>
    LowPass = 0,

    /// <summary>
    /// The squared residual low-passed at four scales (σ/2, σ, 2σ, 4σ with σ = <see cref="ScoringOptions.ResidualSigma"/>),
    /// each divided by its 99th percentile over held-back normal pixels, and the largest of the four kept
    /// per pixel: a faint defect that is clear at one scale is not drowned by texture at another.
    /// </summary>
    MultiScale = 1,
}
