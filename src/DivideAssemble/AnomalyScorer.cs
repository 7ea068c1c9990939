using System.Text.Json;
using DivideAssemble.Scoring;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// Turns a trained generator (and, for DAAD+, discriminator) into anomaly scores, maps, decisions
/// and defect regions (eq. 7 of DAAD): the TorchSharp implementation of <see cref="IAnomalyScorer"/>.
/// </summary>
/// <remarks>
/// <para>R(x) is pooled from the per-pixel map (<see cref="ScoringOptions.Pooling"/>); L(x) is the
/// mean squared difference of the discriminator features f_D(x) and f_D(x̂), L2-normalised first when
/// training normalised them (<see cref="TrainingOptions.NormalizeFeatures"/>: scoring reads the same
/// options as training, so the two cannot disagree).</para>
/// <para>Normalisation: with calibration statistics of normal images,
/// <c>R̃ = (R − μ_R)/σ_R</c> and <c>L̃ = (L − μ_L)/σ_L</c> (z-scores), and
/// <c>A = γ·R̃ + (1 − γ)·L̃</c>; without a discriminator <c>A = R̃</c>; with a memory weight β
/// (<see cref="DaadOptions.EffectiveMemoryWeight"/>) the memory distance's z-score joins:
/// <c>(1 − β)·A + β·M̃</c>. Before calibration,
/// <c>A</c> is the raw R (and decisions are false).</para>
/// <para>The scorer does not own the modules (the caller disposes them). Scoring may run on several
/// threads at once; <see cref="Calibrate(IImageSource, CancellationToken)"/> and
/// <see cref="UseCalibration"/> must not run concurrently with scoring.</para>
/// </remarks>
public sealed class AnomalyScorer : IAnomalyScorer
{
    private readonly DaadGenerator generator;
    private readonly DcganDiscriminator? discriminator;
    private readonly DiscriminativeHead? head;
    private readonly DaadOptions options;
    private readonly ScoringOptions scoring;
    private readonly PoolingMethod pooling;
    private readonly ResidualMethod residual;
    private readonly FlipViews views;

    /// <summary>Creates a scorer over trained modules with the options they were trained with.</summary>
    /// <param name="generator">The generator.</param>
    /// <param name="discriminator">The DAAD+ discriminator, or <see langword="null"/> for every other variant.</param>
    /// <param name="head">The discriminative head when the options build one (<see cref="NetworkOptions.HeadWidth"/>), else <see langword="null"/>.</param>
    /// <param name="options">The options the modules were built and trained with (copied): the scoring options, and the feature normalisation of training.</param>
    /// <param name="calibration">Normalisation statistics and thresholds, if already known.</param>
    /// <exception cref="ArgumentException">The calibration lacks the normalisers a multi-scale residual needs, the options are invalid (a scoring method this library does not compute, too), describe another network than <paramref name="generator"/>, or the discriminator's or head's presence does not match the options.</exception>
    public AnomalyScorer(DaadGenerator generator, DcganDiscriminator? discriminator, DiscriminativeHead? head, DaadOptions options, ScoreCalibration? calibration = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(options);
        var errors = ScoringRules.Collect(options);
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid options: " + string.Join(" ", errors), nameof(options));
        }

        string built = JsonSerializer.Serialize(generator.Options), given = JsonSerializer.Serialize(options.Network);
        if (built != given)
        {
            throw new ArgumentException($"The options describe another network than the generator's (generator: {built}; options: {given}).", nameof(options));
        }

        if ((discriminator is not null) != options.Network.HasDiscriminator)
        {
            throw new ArgumentException(
                options.Network.HasDiscriminator ? "DAAD+ scores with its discriminator; pass it." : $"A {options.Network.Variant} model has no discriminator; pass null.",
                nameof(discriminator));
        }

        if ((head is not null) != options.Network.HasHead)
        {
            throw new ArgumentException(
                options.Network.HasHead ? "The options build a discriminative head (Network.HeadWidth); pass it." : "The options build no discriminative head (Network.HeadWidth 0); pass null.",
                nameof(head));
        }

        this.generator = generator;
        this.discriminator = discriminator;
        this.head = head;
        this.options = options.Clone();
        scoring = options.Scoring.Clone();
        scoring.MemoryWeight = options.EffectiveMemoryWeight();
        scoring.HeadWeight = options.EffectiveHeadWeight();
        pooling = ScoringMethods.Current.Pooling(scoring.Pooling);
        residual = ScoringMethods.Current.Residual(scoring.Residual);
        views = FlipViews.Of(options);
        if (calibration is not null)
        {
            CheckNormalisers(calibration, nameof(calibration));
        }

        Calibration = calibration;
    }

    /// <inheritdoc />
    public DaadOptions Options => options.Clone();

    /// <summary>Does nothing: the scorer does not own the modules it scores with (their owner disposes them).</summary>
    public void Dispose()
    {
    }

    /// <inheritdoc />
    public int ImageSize => options.Network.ImageSize;

    /// <inheritdoc />
    public int Channels => options.Network.ResolvedChannels;

    /// <inheritdoc />
    public ScoreCalibration? Calibration { get; private set; }

    /// <summary>Gets the image threshold in force: the manual one if set, else the calibrated one, else NaN.</summary>
    public double Threshold => options.Scoring.Threshold ?? Calibration?.Threshold ?? double.NaN;

    /// <summary>Scores a batch <c>[B, C, S, S]</c> (or one image <c>[C, S, S]</c>) with values in [-1, 1]; results are in input order.</summary>
    /// <exception cref="ArgumentException">The images' shape does not match the model (the message names the dimension), or an image holds NaN or infinity.</exception>
    public IReadOnlyList<AnomalyResult> Score(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        return ComputeRaw(images.dim() == 3 ? images.unsqueeze(0) : images).Select(r => AnomalyResult.FromRaw(r, Calibration, scoring)).ToList();
    }

    /// <inheritdoc />
    public AnomalyResult Score(FloatImage image) => Score(new[] { image ?? throw new ArgumentNullException(nameof(image)) })[0];

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IReadOnlyList<FloatImage> images) => Score(ModelInput.FromImages(images, Channels, ImageSize), images.Count);

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IImageSource images, CancellationToken cancellationToken = default) =>
        ModelInput.ScoreAll(images, Channels, ImageSize, options.Training.BatchSize, Score, cancellationToken);

    /// <summary>Scores <paramref name="count"/> model-ready images held in <paramref name="data"/>.</summary>
    internal IReadOnlyList<AnomalyResult> Score(float[] data, int count)
    {
        using var scope = NewDisposeScope();
        return Score(tensor(data, new long[] { count, Channels, ImageSize, ImageSize }));
    }

    /// <inheritdoc />
    public ScoreCalibration Calibrate(IImageSource normalImages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(normalImages);
        if (normalImages.Count == 0)
        {
            throw new ArgumentException("Calibration needs at least one normal image.", nameof(normalImages));
        }

        var reader = new Data.BatchReader(normalImages, Channels, ImageSize);
        return Calibrate(reader.Tensors(Enumerable.Range(0, normalImages.Count).ToArray(), options.Training.BatchSize, CPU, cancellationToken), heldOut: true);
    }

    /// <summary>
    /// Measures batches <c>[B, C, S, S]</c> of normal images (owned by the caller) and sets
    /// <see cref="Calibration"/>; <paramref name="heldOut"/> records whether training saw them.
    /// </summary>
    internal ScoreCalibration Calibrate(IEnumerable<Tensor> normalBatches, bool heldOut)
    {
        ArgumentNullException.ThrowIfNull(normalBatches);
        // A multi-scale residual first needs each scale's normaliser: one pass over the images for those.
        IReadOnlyList<double>? normalisers = residual.NormalisesScales ? MeasureNormalisers(normalBatches) : null;
        var results = new List<RawScore>();
        foreach (var batch in normalBatches)
        {
            using var scope = NewDisposeScope();
            results.AddRange(ComputeRaw(batch, normalisers));
        }

        Calibration = ScoreCalibration.MeasureRaw(results, scoring, heldOut) with { ResidualNormalisers = normalisers };
        return Calibration;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The scoring uses a multi-scale residual and <paramref name="calibration"/> holds no normaliser per scale.</exception>
    public void UseCalibration(ScoreCalibration calibration)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        CheckNormalisers(calibration, nameof(calibration));
        Calibration = calibration;
    }

    /// <summary>Throws unless <paramref name="calibration"/> carries one normaliser per residual scale when the scoring needs them.</summary>
    private void CheckNormalisers(ScoreCalibration calibration, string parameter)
    {
        int scales = residual.Sigmas(scoring, ImageSize).Count;
        if (residual.NormalisesScales && (calibration.ResidualNormalisers is null || calibration.ResidualNormalisers.Count != scales))
        {
            throw new ArgumentException(
                $"The scoring uses a {scales}-scale residual; the calibration's ResidualNormalisers must hold {scales} values (it holds {calibration.ResidualNormalisers?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}). Calibrate with these scoring options.",
                parameter);
        }
    }

    /// <summary>The 99th percentile of each residual scale's map over normal images (at most 4 M values per scale, evenly strided).</summary>
    private double[] MeasureNormalisers(IEnumerable<Tensor> normalBatches)
    {
        var sigmas = residual.Sigmas(scoring, ImageSize);
        var values = sigmas.Select(_ => new List<float>()).ToArray();
        using var noGrad = no_grad();
        generator.eval();
        var device = generator.parameters().First().device;
        foreach (var batch in normalBatches)
        {
            using var scope = NewDisposeScope();
            CheckShape(batch, Channels, ImageSize);
            var x = batch.to(float32).to(device);
            CheckFinite(x);
            var maps = AnomalyMaps.ScaleMaps(x, generator.call(x), sigmas);
            for (int k = 0; k < maps.Length; k++)
            {
                // At most 16 384 values per image and scale (every pixel up to 128×128), so a large calibration set stays small.
                var all = maps[k].cpu().contiguous().data<float>().ToArray();
                int stride = Math.Max(1, ImageSize * ImageSize / 16384);
                for (int i = 0; i < all.Length; i += stride)
                {
                    values[k].Add(all[i]);
                }
            }
        }

        return ScoreCalibration.MeasureResidualNormalisers(values);
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the dimension at fault unless <paramref name="images"/> is [B ≥ 1, channels, size, size].</summary>
    internal static void CheckShape(Tensor images, int channels, int size)
    {
        ArgumentNullException.ThrowIfNull(images);
        string shape = $"[{string.Join(", ", images.shape)}]";
        if (images.dim() != 4)
        {
            throw new ArgumentException($"Expected a 4-d image batch [B, {channels}, {size}, {size}] (or one 3-d image); got {images.dim()} dimensions {shape}.", nameof(images));
        }

        if (images.shape[0] == 0)
        {
            throw new ArgumentException($"The image batch is empty (dimension 0 is 0 in {shape}).", nameof(images));
        }

        if (images.shape[1] != channels)
        {
            throw new ArgumentException($"Dimension 1 (channels) is {images.shape[1]} in {shape}; the model takes {channels}-channel images.", nameof(images));
        }

        if (images.shape[2] != size || images.shape[3] != size)
        {
            throw new ArgumentException($"Dimensions 2 and 3 (height, width) are {images.shape[2]}×{images.shape[3]} in {shape}; the model takes {size}×{size} images (resize first, or score FloatImages or files, which are resized).", nameof(images));
        }

        if (images.dtype is ScalarType.Bool or ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64)
        {
            throw new ArgumentException($"The image batch has element type {images.dtype}; a real-valued tensor in [-1, 1] is expected.", nameof(images));
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first image that holds NaN or an infinity, or values outside [-1, 1].</summary>
    internal static void CheckFinite(Tensor images)
    {
        using var scope = NewDisposeScope();
        int b = (int)images.shape[0];
        var flat = images.reshape(b, -1);
        var dims = new long[] { 1 };

        // Per image: finite or not, smallest and largest value — one copy to the host for the three.
        var stats = stack(new[] { isfinite(flat).all(1).to(float32), flat.amin(dims).to(float32), flat.amax(dims).to(float32) })
            .cpu().data<float>().ToArray();
        ModelInput.ThrowIfNotFinite(stats.Take(b).Select(v => v != 0).ToArray(), nameof(images));
        ModelInput.ThrowIfOutOfRange(Enumerable.Range(0, b).Select(i => (stats[b + i], stats[(2 * b) + i])).ToArray(), nameof(images));
    }

    /// <summary>Computes raw scores, maps and reconstructions (CPU copies) without calibration.</summary>
    internal IReadOnlyList<RawScore> ComputeRaw(Tensor images) => ComputeRaw(images, Calibration?.ResidualNormalisers);

    /// <summary>Computes raw scores with the given residual normalisers (null: unnormalised scales, as before calibration).</summary>
    private IReadOnlyList<RawScore> ComputeRaw(Tensor images, IReadOnlyList<double>? normalisers)
    {
        using var scope = NewDisposeScope();
        var maps = ComputeMaps(images, normalisers);
        var r = pooling.Pool(maps.Raw, maps.Smoothed, scoring).to(float64).cpu().data<double>().ToArray();
        var l = maps.Alignment?.to(float64).cpu().data<double>().ToArray();
        var m = maps.MemoryDistance?.to(float64).cpu().data<double>().ToArray();
        var h = maps.Head is null ? null : pooling.Pool(maps.Head, maps.HeadSmoothed!, scoring).to(float64).cpu().data<double>().ToArray();
        int b = r.Length, s = ImageSize, c = Channels;
        // At 0 < w < 1 both maps go out and AnomalyResult.FromRaw mixes them; at w = 1 the head's is the map.
        bool mix = maps.HeadSmoothed is not null && ScoreCalibration.MixesMaps(scoring.HeadWeight ?? 0);
        var mapsCpu = (mix ? maps.Smoothed : maps.HeadSmoothed ?? maps.Smoothed).to(float32).cpu().contiguous().data<float>().ToArray();
        var headCpu = mix ? maps.HeadSmoothed!.to(float32).cpu().contiguous().data<float>().ToArray() : null;
        var reconCpu = maps.Reconstructions.to(float32).cpu().contiguous().data<float>().ToArray();
        var results = new RawScore[b];
        for (int i = 0; i < b; i++)
        {
            results[i] = new RawScore(r[i], l?[i], mapsCpu.AsSpan(i * s * s, s * s).ToArray(), reconCpu.AsSpan(i * c * s * s, c * s * s).ToArray(), s, c)
            {
                MemoryDistance = m?[i],
                HeadScore = h?[i],
                HeadMap = headCpu?.AsSpan(i * s * s, s * s).ToArray(),
            };
        }

        return results;
    }

    /// <summary>
    /// Everything scoring computes for a batch before pooling, as tensors in the caller's dispose scope:
    /// the residual map before and after smoothing <c>[B, S, S]</c>, the reconstructions, (when the score
    /// uses them) L(x) and M(x) <c>[B]</c>, and the head's anomaly probability before and after smoothing.
    /// </summary>
    internal ScoreMaps ComputeMaps(Tensor images, IReadOnlyList<double>? normalisers, bool? withHead = null)
    {
        CheckShape(images, Channels, ImageSize);
        using var noGrad = no_grad();
        generator.eval();
        discriminator?.eval();
        var device = generator.parameters().First().device;
        var x = images.to(float32).to(device);
        CheckFinite(x);

        // Every view of the images (ScoringOptions.FlipAveraging) goes through the networks as one batch; maps are flipped
        // back and averaged, per-image terms averaged, before anything is pooled or smoothed.
        var xv = views.Stack(x);
        var reconViews = generator.call(xv);
        var distance = scoring.MemoryWeight > 0 ? views.AverageValues(generator.MemoryDistance(xv)) : null;
        var raw = views.AverageMaps(residual.Map(xv, reconViews, scoring, normalisers));
        var smooth = AnomalyMaps.Smooth(raw, scoring.MapSigma(ImageSize));
        Tensor? alignment = null;
        if (discriminator is not null)
        {
            var fReal = discriminator.call(xv).Features;
            var fFake = discriminator.call(reconViews).Features;
            alignment = views.AverageValues(FeatureAlignment.PerImage(fReal, fFake, options.Training.NormalizeFeatures));
        }

        Tensor? probability = null, probabilitySmoothed = null;
        if (head is not null && (withHead ?? scoring.HeadWeight > 0))
        {
            head.eval();
            probability = views.AverageMaps(head.Probability(xv, reconViews));
            probabilitySmoothed = AnomalyMaps.Smooth(probability, scoring.MapSigma(ImageSize));
        }

        return new ScoreMaps(raw, smooth, views.First(reconViews), alignment, distance) { Head = probability, HeadSmoothed = probabilitySmoothed };
    }
}

/// <summary>What <see cref="AnomalyScorer.ComputeMaps"/> returns for a batch.</summary>
/// <param name="Raw">The residual map before smoothing, <c>[B, S, S]</c>.</param>
/// <param name="Smoothed">The anomaly map, <c>[B, S, S]</c>.</param>
/// <param name="Reconstructions">The reconstructions, <c>[B, C, S, S]</c>.</param>
/// <param name="Alignment">L(x), <c>[B]</c> (DAAD+), else <see langword="null"/>.</param>
/// <param name="MemoryDistance">M(x), <c>[B]</c> when the score uses it, else <see langword="null"/>.</param>
internal sealed record ScoreMaps(Tensor Raw, Tensor Smoothed, Tensor Reconstructions, Tensor? Alignment, Tensor? MemoryDistance)
{
    /// <summary>Gets the discriminative head's anomaly probability <c>[B, S, S]</c> when the score uses it.</summary>
    public Tensor? Head { get; init; }

    /// <summary>Gets <see cref="Head"/> smoothed as the residual map is (the anomaly map of results then).</summary>
    public Tensor? HeadSmoothed { get; init; }
}
