namespace DivideAssemble;

/// <summary>
/// Every knob of DAAD/DAAD+: the network, the training recipe, scoring, and the model's device and
/// seed. Bind it from configuration, build a detector from it with <c>DaadBuilder</c>, or start from
/// a preset (<see cref="Default"/> or <see cref="Paper"/>). These options are stored in model files;
/// process-wide settings (libtorch's thread count) are not options: the application sets them.
/// </summary>
public sealed class DaadOptions
{
    /// <summary>Gets or sets the network options.</summary>
    public NetworkOptions Network { get; set; } = new();

    /// <summary>Gets or sets the training options.</summary>
    public TrainingOptions Training { get; set; } = new();

    /// <summary>Gets or sets the scoring options.</summary>
    public ScoringOptions Scoring { get; set; } = new();

    /// <summary>Gets or sets the device: <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    /// <value>The default value is <c>cpu</c>.</value>
    public string Device { get; set; } = "cpu";

    /// <summary>Gets or sets the random seed of weights, shuffling and augmentation.</summary>
    /// <value>The default value is 0.</value>
    public int Seed { get; set; }

    /// <summary>
    /// Gets the library default: the paper's recipe at a CPU-friendly size, adjusted where the
    /// project's measurements justify it (docs/defaults.md lists each difference and why).
    /// </summary>
    public static DaadOptions Default => new();

    /// <summary>
    /// Gets the paper's exact recipe: DAAD+ at 256×256, base width 64 capped at 512, division 8,8,1,
    /// N = 500, T = 1, Adam(2e-4, β = 0.9, 0.999), batch 8, 1000 epochs, λ = 50/0.5/0.5, γ = 0.9,
    /// flips, mean-squared-error image score without smoothing.
    /// </summary>
    public static DaadOptions Paper => new()
    {
        Network = new NetworkOptions
        {
            Variant = ModelVariant.DaadPlus,
            ImageSize = 256,
            Channels = 3,
            Depth = 4,
            BaseWidth = 64,
            MaxWidth = 512,
            HeightRatio = 8,
            WidthRatio = 8,
            ChannelRatio = 1,
            MemoryItems = 500,
            MemoryTemperature = 1.0,
            DiscriminatorBaseWidth = 64,
            FeatureDimension = 100,
        },
        Training = new TrainingOptions
        {
            Epochs = 1000,
            BatchSize = 8,
            LearningRate = 2e-4,
            DiscriminatorLearningRate = 2e-4,
            Beta1 = 0.9,
            Beta2 = 0.999,
            ReconstructionWeight = 50,
            AdversarialWeight = 0.5,
            AlignmentWeight = 0.5,
            HorizontalFlip = true,
            VerticalFlip = true,
            NormalizeFeatures = false,
            MemoryInit = MemoryInit.Uniform,
        },
        Scoring = new ScoringOptions { Gamma = 0.9, SmoothingSigma = 0, ResidualSigma = 0, Pooling = ImageScorePooling.Mean, MemoryWeight = 0, FlipAveraging = false },
    };

    /// <summary>Returns <see cref="TrainingOptions.MemoryInit"/> resolved for this network (<see cref="MemoryInit.Auto"/> never comes back).</summary>
    /// <exception cref="ArgumentException">The network options describe an impossible network.</exception>
    public MemoryInit EffectiveMemoryInit() => Training.MemoryInit switch
    {
        MemoryInit.Auto => Network.MemoryHoldsWholeMaps() ? MemoryInit.Samples : MemoryInit.Uniform,
        var init => init,
    };

    /// <summary>
    /// Returns the memory weight β the score uses: 0 without a memory; <see cref="ScoringOptions.MemoryWeight"/>
    /// when set; otherwise <see cref="ScoringOptions.DefaultMemoryWeight"/> when the memory holds whole
    /// feature maps and its items started from training images, else 0.
    /// </summary>
    /// <exception cref="ArgumentException">The network options describe an impossible network.</exception>
    public double EffectiveMemoryWeight() =>
        !Network.HasMemory ? 0
        : Scoring.MemoryWeight ?? (Network.MemoryHoldsWholeMaps() && EffectiveMemoryInit() == MemoryInit.Samples ? ScoringOptions.DefaultMemoryWeight : 0);

    /// <summary>Returns whether the generator trains to restore images with synthetic anomalies: <see cref="TrainingOptions.Restoration"/>, off when unset (it lowered image AUROC on every validation split measured).</summary>
    public bool EffectiveRestoration() => Training.Restoration ?? false;

    /// <summary>Returns whether training synthesises anomalies at all (for restoration or for the head).</summary>
    public bool SynthesisesAnomalies() => EffectiveRestoration() || Network.HasHead;

    /// <summary>Returns the epochs the discriminative head trains for after the generator's: 0 without a head; <see cref="TrainingOptions.HeadEpochs"/> when set; else <see cref="TrainingOptions.Epochs"/>.</summary>
    public int EffectiveHeadEpochs() => !Network.HasHead ? 0 : Training.HeadEpochs ?? Training.Epochs;

    /// <summary>Returns the epochs of a whole run: the generator's, then the head's (<see cref="EffectiveHeadEpochs"/>).</summary>
    public int TotalEpochs() => Training.Epochs + EffectiveHeadEpochs();

    /// <summary>Returns the weight w of the head's score: 0 without a head; <see cref="ScoringOptions.HeadWeight"/> when set; else <see cref="ScoringOptions.DefaultHeadWeight"/>.</summary>
    public double EffectiveHeadWeight() => !Network.HasHead ? 0 : Scoring.HeadWeight ?? ScoringOptions.DefaultHeadWeight;

    /// <summary>
    /// Returns the flips whose views scoring averages with the image itself: none unless <see cref="ScoringOptions.FlipAveraging"/>
    /// (on when unset: <see cref="ScoringOptions.DefaultFlipAveraging"/>); else the flips training applied.
    /// </summary>
    public (bool Horizontal, bool Vertical) ScoringFlips() =>
        Scoring.FlipAveraging ?? ScoringOptions.DefaultFlipAveraging ? (Training.HorizontalFlip, Training.VerticalFlip) : (false, false);

    /// <summary>Returns how many views of an image scoring averages (<see cref="ScoringFlips"/>): 1, 2 or 4.</summary>
    public int ScoringViews()
    {
        var (horizontal, vertical) = ScoringFlips();
        return (horizontal ? 2 : 1) * (vertical ? 2 : 1);
    }

    /// <summary>Describes the options in one line: variant, input, division, memory, head, training length, scoring and seed.</summary>
    /// <returns>The line.</returns>
    public override string ToString()
    {
        var n = Network;
        string division;
        try
        {
            division = n.DescribeDivision();
        }
        catch (ArgumentException)
        {
            division = "invalid";
        }

        return string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"{n.Variant} {(n.Channels is { } c ? c.ToString(System.Globalization.CultureInfo.InvariantCulture) : "C")}×{n.ImageSize}×{n.ImageSize}, depth {n.Depth}, division {division}, N = {n.MemoryItems}, T = {n.MemoryTemperature}, head {(n.HeadWidth is { } w ? w.ToString(System.Globalization.CultureInfo.InvariantCulture) : "auto")}, restoration {(Training.Restoration is { } r ? (r ? "on" : "off") : "auto")}, {Training.Epochs} epochs of batch {Training.BatchSize}, {Scoring.Residual} residual with {Scoring.Pooling} pooling, {Device}, seed {Seed}");
    }

    /// <summary>Returns a deep copy.</summary>
    public DaadOptions Clone() => new()
    {
        Network = Network.Clone(),
        Training = Training.Clone(),
        Scoring = Scoring.Clone(),
        Device = Device,
        Seed = Seed,
    };
}
