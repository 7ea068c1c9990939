using System.ComponentModel.DataAnnotations;

namespace DivideAssemble;

/// <summary>Options of the training recipe (losses, optimisers, schedule, augmentation).</summary>
public sealed class TrainingOptions
{
    /// <summary>Gets or sets the number of epochs.</summary>
    /// <value>The default value is 100 (the paper trains 1000 epochs on a GPU); an epoch at 128 px costs about three times one at the default 64 px.</value>
    [Range(1, 1_000_000)]
    public int Epochs { get; set; } = 100;

    /// <summary>Gets or sets the batch size.</summary>
    /// <value>The default value is 8 (the paper's).</value>
    [Range(1, 65_536)]
    public int BatchSize { get; set; } = 8;

    /// <summary>Gets or sets the generator's Adam learning rate.</summary>
    /// <value>The default value is 1e-4 for DAAD; <see cref="DaadOptions.Paper"/> uses 2e-4 for DAAD+.</value>
    [Range(1e-8, 1.0)]
    public double LearningRate { get; set; } = 1e-4;

    /// <summary>Gets or sets the discriminator's Adam learning rate (DAAD+ only).</summary>
    /// <value>The default value is 2e-4.</value>
    [Range(1e-8, 1.0)]
    public double DiscriminatorLearningRate { get; set; } = 2e-4;

    /// <summary>Gets or sets Adam's β1.</summary>
    /// <value>The default value is 0.9.</value>
    [Range(0.0, 0.999999)]
    public double Beta1 { get; set; } = 0.9;

    /// <summary>Gets or sets Adam's β2.</summary>
    /// <value>The default value is 0.999.</value>
    [Range(0.0, 0.999999)]
    public double Beta2 { get; set; } = 0.999;

    /// <summary>Gets or sets Adam's weight decay.</summary>
    /// <value>The default value is 0.</value>
    [Range(0.0, 1.0)]
    public double WeightDecay { get; set; }

    /// <summary>Gets or sets λ_rec, the weight of the reconstruction loss (eq. 3).</summary>
    /// <value>The default value is 50 (the paper's).</value>
    [Range(0.0, 1e6)]
    public double ReconstructionWeight { get; set; } = 50;

    /// <summary>Gets or sets λ_adv, the weight of the adversarial loss (DAAD+).</summary>
    /// <value>The default value is 0.5 (the paper's).</value>
    [Range(0.0, 1e6)]
    public double AdversarialWeight { get; set; } = 0.5;

    /// <summary>Gets or sets λ_ali, the weight of the feature-alignment loss (DAAD+).</summary>
    /// <value>The default value is 0.5 (the paper's).</value>
    [Range(0.0, 1e6)]
    public double AlignmentWeight { get; set; } = 0.5;

    /// <summary>
    /// Gets or sets a value indicating whether the discriminator features f_D are L2-normalised before
    /// the alignment loss L_ali and the alignment score L(x) compare them (training and scoring read
    /// this one setting). The raw 100-d projection has no fixed scale and grows as the discriminator
    /// trains (docs/defaults.md).
    /// </summary>
    /// <value>The default value is <see langword="true"/>; <see cref="DaadOptions.Paper"/> uses <see langword="false"/>.</value>
    public bool NormalizeFeatures { get; set; } = true;

    /// <summary>Gets or sets a value indicating whether training images are flipped horizontally at random.</summary>
    /// <value>The default value is <see langword="true"/> (the paper's; turn off for digit-like data).</value>
    public bool HorizontalFlip { get; set; } = true;

    /// <summary>Gets or sets a value indicating whether training images are flipped vertically at random.</summary>
    /// <value>The default value is <see langword="true"/> (the paper's; turn off for digit-like data).</value>
    public bool VerticalFlip { get; set; } = true;

    /// <summary>Gets or sets the fraction of the normal training images held back for validation and calibration.</summary>
    /// <value>The default value is 0.1.</value>
    [Range(0.0, 0.9)]
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Gets or sets a value indicating whether the weights of the epoch with the lowest validation loss are kept.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool KeepBest { get; set; }

    /// <summary>Gets or sets the number of epochs without validation improvement after which training stops; 0 disables early stopping.</summary>
    /// <value>The default value is 0.</value>
    [Range(0, 1_000_000)]
    public int EarlyStoppingPatience { get; set; }

    /// <summary>Gets or sets how often (in epochs) a checkpoint is written when a checkpoint path is given; 0 disables checkpoints.</summary>
    /// <value>The default value is 0.</value>
    [Range(0, 1_000_000)]
    public int CheckpointEvery { get; set; }

    /// <summary>Gets or sets how a run that starts from scratch initialises the memory items (a resumed or continued run keeps them).</summary>
    /// <value>The default value is <see cref="MemoryInit.Auto"/>: items from training images when the memory holds whole feature maps (docs/defaults.md says why); <see cref="DaadOptions.Paper"/> uses <see cref="MemoryInit.Uniform"/>.</value>
    public MemoryInit MemoryInit { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the generator is trained to <b>restore</b>: it reads images that
    /// carry synthetic anomalies (made from the other normal images of the batch and from noise textures, no
    /// outside data) and is asked for the clean image, with an L2 + SSIM loss, instead of reconstructing the
    /// image it reads. A generator that learned to undo anomalies leaves them in the residual.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: off (<see cref="DaadOptions.EffectiveRestoration"/>; docs/synthetic-anomalies.md says why).</value>
    public bool? Restoration { get; set; }

    /// <summary>Gets or sets the fraction of each batch left clean when anomalies are synthesised (restoration, or the discriminative head's epochs).</summary>
    /// <value>The default value is 0.5 (DRAEM's).</value>
    [Range(0.0, 1.0)]
    public double CleanFraction { get; set; } = 0.5;

    /// <summary>Gets or sets the lowest opacity of a synthetic anomaly (it is drawn uniformly between this and <see cref="MaxAnomalyOpacity"/>).</summary>
    /// <value>The default value is 0.2: faint anomalies are common, invisible ones are not.</value>
    [Range(0.0, 1.0)]
    public double MinAnomalyOpacity { get; set; } = 0.2;

    /// <summary>Gets or sets the highest opacity of a synthetic anomaly.</summary>
    /// <value>The default value is 1.</value>
    [Range(0.0, 1.0)]
    public double MaxAnomalyOpacity { get; set; } = 1.0;

    /// <summary>
    /// Gets or sets the number of epochs the discriminative head trains for (<see cref="NetworkOptions.HeadWidth"/>),
    /// after the generator's <see cref="Epochs"/>: the generator is frozen as it scores (evaluation mode, its kept-best
    /// weights), and the head alone learns the training synthesis's anomalies from each corrupted image and the
    /// generator's reconstruction of it. Keep-best and early stopping then watch the head's focal loss on the
    /// held-back images.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: as many as <see cref="Epochs"/>.</value>
    [Range(0, 1_000_000)]
    public int? HeadEpochs { get; set; }

    /// <summary>Gets or sets the discriminative head's Adam learning rate (<see cref="NetworkOptions.HeadWidth"/>).</summary>
    /// <value>The default value is 1e-3.</value>
    [Range(1e-8, 1.0)]
    public double HeadLearningRate { get; set; } = 1e-3;

    /// <summary>Returns a copy.</summary>
    public TrainingOptions Clone() => (TrainingOptions)MemberwiseClone();
}
