using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace DivideAssemble;

/// <summary>Options of the network: image geometry, widths, depth, block division and memories.</summary>
public sealed class NetworkOptions
{
    /// <summary>The lowest memory temperature the options accept.</summary>
    public const double MinTemperature = 1e-4;

    /// <summary>The highest memory temperature the options accept.</summary>
    public const double MaxTemperature = 100;

    /// <summary>The highest hard-shrinkage threshold the options accept (shrinkage needs a threshold below 1).</summary>
    public const double MaxShrinkThreshold = 0.999;

    /// <summary>Gets or sets the model variant.</summary>
    /// <value>The default value is <see cref="ModelVariant.Daad"/>.</value>
    public ModelVariant Variant { get; set; } = ModelVariant.Daad;

    /// <summary>Gets or sets the side S of the square input images, in pixels; must be divisible by 2^<see cref="Depth"/>.</summary>
    /// <value>The default value is 64: on every texture set's validation split, 64 px for 100 epochs found more defects than 128 px for 20 in about 1.5× the time (docs/defaults.md).</value>
    [Range(8, 4096)]
    public int ImageSize { get; set; } = 64;

    /// <summary>
    /// Gets or sets the number of image channels (1 for grey, 3 for RGB); <see langword="null"/> takes them from
    /// the training images when the detector first trains (1 when they are grey, 3 when they are in colour).
    /// </summary>
    /// <value>The default value is <see langword="null"/> (from the data).</value>
    [Range(1, 4)]
    public int? Channels { get; set; }

    /// <summary>Gets <see cref="Channels"/> once it is known.</summary>
    /// <exception cref="InvalidOperationException">The channels are still to come from the training images.</exception>
    [JsonIgnore]
    public int ResolvedChannels => Channels ?? throw new InvalidOperationException("NetworkOptions.Channels is not known yet: it comes from the training images when the detector first trains (or set it).");

    /// <summary>Gets or sets the number of stride-2 encoder stages L (and decoder stages).</summary>
    /// <value>The default value is 4.</value>
    [Range(1, 8)]
    public int Depth { get; set; } = 4;

    /// <summary>Gets or sets the width of the first encoder stage; stage i has min(BaseWidth·2^i, MaxWidth) channels.</summary>
    /// <value>The default value is 32 (the paper's network uses 64).</value>
    [Range(1, 4096)]
    public int BaseWidth { get; set; } = 32;

    /// <summary>Gets or sets the cap on any stage's width.</summary>
    /// <value>The default value is 512.</value>
    [Range(1, 8192)]
    public int MaxWidth { get; set; } = 512;

    /// <summary>Gets or sets the division ratio along the height, r_h; <see langword="null"/> derives it from the image size (<see cref="DefaultBlockRatio"/>).</summary>
    /// <value>The default value is <see langword="null"/>: 1 up to 32×32, 8 at 64×64, 16 at 128×128 and above (docs/defaults.md). The paper's is 8.</value>
    [Range(1, 4096)]
    public int? HeightRatio { get; set; }

    /// <summary>Gets or sets the division ratio along the width, r_w; <see langword="null"/> derives it from the image size (<see cref="DefaultBlockRatio"/>).</summary>
    /// <value>The default value is <see langword="null"/>, as <see cref="HeightRatio"/>.</value>
    [Range(1, 4096)]
    public int? WidthRatio { get; set; }

    /// <summary>Gets <see cref="HeightRatio"/>, or the size-derived default when it is not set.</summary>
    public int ResolvedHeightRatio => HeightRatio ?? DefaultBlockRatio();

    /// <summary>Gets <see cref="WidthRatio"/>, or the size-derived default when it is not set.</summary>
    public int ResolvedWidthRatio => WidthRatio ?? DefaultBlockRatio();

    /// <summary>
    /// The division ratio used when none is set, from the image side S: 1 up to 32×32 (each memory holds
    /// whole feature maps: small images are objects seen whole), and above that the power of two that
    /// gives the first memory scale blocks of about 8×8 input pixels (<c>S/8</c>, at most 16): 8 at 64×64,
    /// 16 at 128×128 and above. It is halved until it divides every memory scale's feature map it does not
    /// exceed. Fitted to what validation splits chose on the project's data sets (1 on digits at 32×32,
    /// 16 on grass at 128×128; docs/defaults.md), not derived from theory.
    /// </summary>
    public int DefaultBlockRatio()
    {
        if (ImageSize < 1 || Depth < 1)
        {
            return 1;
        }

        int ratio = 1;
        while (ImageSize > 32 && ratio < 16 && ratio * 2 * 8 <= ImageSize)
        {
            ratio *= 2;
        }

        while (ratio > 1 && Enumerable.Range(1, Depth).Select(l => ImageSize >> l).Any(size => size >= ratio && size % ratio != 0))
        {
            ratio /= 2;
        }

        return ratio;
    }

    /// <summary>Describes the division as the CLI takes it: <c>pixel</c> or <c>r_h,r_w,r_c</c> (resolved).</summary>
    /// <returns>The division's text.</returns>
    public string DescribeDivision() =>
        PerPixel || Variant == ModelVariant.MemAE ? "pixel" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ResolvedHeightRatio},{ResolvedWidthRatio},{ChannelRatio}");

    /// <summary>
    /// Sets the block division from its text, the form <see cref="DescribeDivision"/> writes and the command
    /// line takes: <c>r_h,r_w,r_c</c> (three positive integers) sets the three ratios, <c>pixel</c> (any case)
    /// makes every block a single pixel with all its channels (<see cref="PerPixel"/>, r_c = 1).
    /// </summary>
    /// <param name="division">The text, for example <c>8,8,1</c> or <c>pixel</c>; surrounding spaces are ignored.</param>
    /// <exception cref="FormatException">The text is neither form; the message quotes it.</exception>
    public void SetDivision(string division)
    {
        ArgumentNullException.ThrowIfNull(division);
        string text = division.Trim();
        if (text.Equals("pixel", StringComparison.OrdinalIgnoreCase))
        {
            PerPixel = true;
            ChannelRatio = 1;
            return;
        }

        var parts = text.Split(',');
        var ratios = new int[parts.Length];
        bool valid = parts.Length == 3;
        for (int i = 0; valid && i < parts.Length; i++)
        {
            valid = int.TryParse(parts[i].Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ratios[i]) && ratios[i] >= 1;
        }

        if (!valid)
        {
            throw new FormatException($"'{division}' is not a block division; use 'r_h,r_w,r_c' (three positive integers) or 'pixel'.");
        }

        PerPixel = false;
        (HeightRatio, WidthRatio, ChannelRatio) = (ratios[0], ratios[1], ratios[2]);
    }

    /// <summary>Gets or sets the division ratio along the channels, r_c.</summary>
    /// <value>The default value is 1.</value>
    [Range(1, 4096)]
    public int ChannelRatio { get; set; } = 1;

    /// <summary>Gets or sets a value indicating whether blocks are single pixels at every scale (ratios equal to each scale's height and width).</summary>
    /// <value>The default value is <see langword="false"/>; <see cref="ModelVariant.MemAE"/> always uses pixel blocks.</value>
    public bool PerPixel { get; set; }

    /// <summary>Gets or sets the number of items N in each scale's memory bank.</summary>
    /// <value>The default value is 500 (the paper's best).</value>
    [Range(1, 100_000)]
    public int MemoryItems { get; set; } = 500;

    /// <summary>
    /// Gets or sets the softmax temperature of the memory addressing (eq. 1). At the paper's T = 1
    /// cosine addressing over hundreds of items is almost uniform; a low temperature makes each block
    /// read a few items.
    /// </summary>
    /// <value>The default value is 0.1 (docs/defaults.md says why); <see cref="DaadOptions.Paper"/> uses 1.</value>
    [Range(MinTemperature, MaxTemperature)]
    public double MemoryTemperature { get; set; } = 0.1;

    /// <summary>Gets or sets the MemAE hard-shrinkage threshold in [0, 1); 0 turns shrinkage off.</summary>
    /// <value>The default value is 0.</value>
    [Range(0.0, MaxShrinkThreshold)]
    public double ShrinkThreshold { get; set; }

    /// <summary>
    /// Gets or sets the 1-based scales whose skip carries a memory (scale 1 is the finest, scale
    /// <see cref="Depth"/> the bottleneck); empty means every scale.
    /// </summary>
    /// <value>The default value is empty (every scale).</value>
    public IList<int> MemoryScales { get; set; } = new List<int>();

    /// <summary>Gets or sets the first-stage width of the DCGAN discriminator (DAAD+ only).</summary>
    /// <value>The default value is 32.</value>
    [Range(1, 4096)]
    public int DiscriminatorBaseWidth { get; set; } = 32;

    /// <summary>Gets or sets the cap on the discriminator's stage widths.</summary>
    /// <value>The default value is 512.</value>
    [Range(1, 8192)]
    public int DiscriminatorMaxWidth { get; set; } = 512;

    /// <summary>Gets or sets the dimension of the discriminator's semantic features f_D.</summary>
    /// <value>The default value is 100 (the paper's).</value>
    [Range(1, 100_000)]
    public int FeatureDimension { get; set; } = 100;

    /// <summary>
    /// Gets or sets the stem width w of the <c>DiscriminativeHead</c>, a small UNet that reads an image and its
    /// reconstruction and returns a per-pixel anomaly probability, trained on synthetic anomalies; 0 builds no
    /// head, <see langword="null"/> chooses from the image size and channels (<see cref="DefaultHeadWidth"/>).
    /// </summary>
    /// <value>The default value is <see langword="null"/> (docs/defaults.md says what it gives and why).</value>
    [Range(0, 1024)]
    public int? HeadWidth { get; set; }

    /// <summary>Gets or sets the number of down (and up) stages of the discriminative head; the image size must be divisible by 2^HeadDepth.</summary>
    /// <value>The default value is 3.</value>
    [Range(1, 8)]
    public int HeadDepth { get; set; } = 3;

    /// <summary>Gets <see cref="HeadWidth"/>, or the size- and channel-derived default when it is not set.</summary>
    [JsonIgnore]
    public int ResolvedHeadWidth => HeadWidth ?? DefaultHeadWidth();

    /// <summary>Gets a value indicating whether the network has a discriminative head.</summary>
    [JsonIgnore]
    public bool HasHead => ResolvedHeadWidth > 0;

    /// <summary>
    /// The head width used when none is set: 0 (no head) at every size and channel count. A head trained after the
    /// generator won on the grey validation splits at 64 px but lost image AUROC on grass's real defects and the
    /// quickstart's (docs/synthetic-anomalies.md), so it is an option.
    /// </summary>
    /// <returns>The width, 0 for no head.</returns>
    public int DefaultHeadWidth() => 0;

    /// <summary>Gets a value indicating whether the variant has skip connections.</summary>
    [JsonIgnore]
    public bool HasSkips => Variant != ModelVariant.Autoencoder;

    /// <summary>Gets a value indicating whether the variant has memories.</summary>
    [JsonIgnore]
    public bool HasMemory => Variant is ModelVariant.MemAE or ModelVariant.Daad or ModelVariant.DaadPlus;

    /// <summary>Gets a value indicating whether the variant has a discriminator.</summary>
    [JsonIgnore]
    public bool HasDiscriminator => Variant == ModelVariant.DaadPlus;

    /// <summary>
    /// Returns whether the finest scale that carries a memory divides its feature map into one block per
    /// image (spatial and channel ratios 1 there): the memory is then a bank of whole-image patterns.
    /// </summary>
    /// <exception cref="ArgumentException">The options describe an impossible network.</exception>
    public bool MemoryHoldsWholeMaps() => HasMemory && PlanScales().FirstOrDefault(p => p.HasMemory) is { BlockCount: 1 };

    /// <summary>Returns the width of encoder stage <paramref name="stage"/> (0-based): min(BaseWidth·2^stage, MaxWidth).</summary>
    public int StageWidth(int stage) => (int)Math.Min((long)BaseWidth << Math.Clamp(stage, 0, 30), MaxWidth);

    /// <summary>Returns the geometry of every scale (feature sizes, effective division ratios, capping).</summary>
    /// <exception cref="ArgumentException">The options describe an impossible network; the message lists every problem as <see cref="DaadOptionsValidator"/> words it.</exception>
    public IReadOnlyList<ScalePlan> PlanScales()
    {
        var errors = DaadOptionsValidator.Collect(this);
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid network configuration: " + string.Join(" ", errors));
        }

        return NetworkPlanner.Plan(this, new List<string>());
    }

    /// <summary>Returns a deep copy.</summary>
    public NetworkOptions Clone()
    {
        var copy = (NetworkOptions)MemberwiseClone();
        copy.MemoryScales = new List<int>(MemoryScales);
        return copy;
    }
}
