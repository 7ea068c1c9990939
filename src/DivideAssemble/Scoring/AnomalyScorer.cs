using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// Turns a trained generator (and, for DAAD+, discriminator) into anomaly scores, maps, decisions
/// and defect regions (eq. 7 of DAAD).
/// </summary>
/// <remarks>
/// <para>R(x) is pooled from the per-pixel map (<see cref="ScoringOptions.Pooling"/>); L(x) is the
/// mean squared difference of the discriminator features f_D(x) and f_D(x̂).</para>
/// <para>Normalisation: with calibration statistics of normal images,
/// <c>R̃ = (R − μ_R)/σ_R</c> and <c>L̃ = (L − μ_L)/σ_L</c> (z-scores), and
/// <c>A = γ·R̃ + (1 − γ)·L̃</c>; without a discriminator <c>A = R̃</c>. Before calibration,
/// <c>A</c> is the raw R (and decisions are false).</para>
/// </remarks>
public sealed class AnomalyScorer
{
    private const int MaxCalibrationPixels = 4_000_000;
    private readonly DaadGenerator generator;
    private readonly DcganDiscriminator? discriminator;
    private readonly ScoringOptions options;
    private readonly bool normalizeFeatures;

    /// <summary>Creates a scorer over trained modules (not owned: the caller disposes them).</summary>
    /// <param name="generator">The generator.</param>
    /// <param name="discriminator">The DAAD+ discriminator, or <see langword="null"/>.</param>
    /// <param name="options">Scoring options (copied).</param>
    /// <param name="calibration">Normalisation statistics and thresholds, if already known.</param>
    public AnomalyScorer(DaadGenerator generator, DcganDiscriminator? discriminator, ScoringOptions options, ScoreCalibration? calibration = null)
        : this(generator, discriminator, options, normalizeFeatures: true, calibration)
    {
    }

    /// <summary>Creates a scorer; <paramref name="normalizeFeatures"/> L2-normalises f_D before L(x) compares them (as training did).</summary>
    public AnomalyScorer(DaadGenerator generator, DcganDiscriminator? discriminator, ScoringOptions options, bool normalizeFeatures, ScoreCalibration? calibration = null)
    {
        this.normalizeFeatures = normalizeFeatures;
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(options);
        this.generator = generator;
        this.discriminator = discriminator;
        this.options = options.Clone();
        Calibration = calibration;
    }

    /// <summary>Gets the calibration (normalisation statistics and thresholds), or <see langword="null"/> before calibration.</summary>
    public ScoreCalibration? Calibration { get; private set; }

    /// <summary>Gets the image threshold in force: the manual one if set, else the calibrated one, else NaN.</summary>
    public double Threshold => options.Threshold ?? Calibration?.Threshold ?? double.NaN;

    /// <summary>Scores a batch <c>[B, C, S, S]</c> (or one image <c>[C, S, S]</c>); results are in input order.</summary>
    /// <exception cref="ArgumentException">The images' shape does not match the model.</exception>
    public IReadOnlyList<AnomalyResult> Score(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var scope = NewDisposeScope();
        var raw = ComputeRaw(images.dim() == 3 ? images.unsqueeze(0) : images);
        int b = raw.Reconstruction.Length;
        int size = raw.Size;
        double pixelThreshold = Calibration?.PixelThreshold ?? double.PositiveInfinity;
        var results = new AnomalyResult[b];
        for (int i = 0; i < b; i++)
        {
            double score = Combine(raw.R[i], raw.L?[i]);
            var map = raw.Maps[i];
            var mask = new bool[map.Length];
            for (int p = 0; p < map.Length; p++)
            {
                mask[p] = map[p] > pixelThreshold;
            }

            double threshold = Threshold;
            results[i] = new AnomalyResult
            {
                Score = score,
                ReconstructionError = raw.R[i],
                AlignmentError = raw.L?[i],
                Threshold = threshold,
                IsAnomalous = !double.IsNaN(threshold) && score > threshold,
                Size = size,
                Channels = raw.Channels,
                AnomalyMap = map,
                Reconstruction = raw.Reconstruction[i],
                DefectMask = mask,
                Regions = AnomalyMaps.Regions(mask, map, size),
            };
        }

        return results;
    }

    /// <summary>Combines raw R and L into the score of eq. 7 with the current calibration.</summary>
    public double Combine(double reconstructionError, double? alignmentError)
    {
        if (Calibration is null)
        {
            return reconstructionError;
        }

        double r = (reconstructionError - Calibration.ReconstructionMean) / Calibration.ReconstructionStd;
        if (discriminator is null || alignmentError is null)
        {
            return r;
        }

        double l = (alignmentError.Value - Calibration.AlignmentMean) / Calibration.AlignmentStd;
        return (options.Gamma * r) + ((1 - options.Gamma) * l);
    }

    /// <summary>
    /// Measures normal images and sets <see cref="Calibration"/>: z-score statistics of R and L,
    /// the image threshold at <see cref="ScoringOptions.TargetFalsePositiveRate"/> and the pixel
    /// threshold at <see cref="ScoringOptions.PixelFalsePositiveRate"/>.
    /// </summary>
    /// <param name="normalBatches">Batches <c>[B, C, S, S]</c> of normal images (owned by the caller).</param>
    /// <param name="heldOut">Whether the images were held back from training.</param>
    /// <exception cref="ArgumentException">No image was given.</exception>
    public ScoreCalibration Calibrate(IEnumerable<Tensor> normalBatches, bool heldOut)
    {
        ArgumentNullException.ThrowIfNull(normalBatches);
        var rs = new List<double>();
        var ls = new List<double>();
        var pixels = new List<double>();
        foreach (var batch in normalBatches)
        {
            using var scope = NewDisposeScope();
            var raw = ComputeRaw(batch);
            rs.AddRange(raw.R);
            if (raw.L is not null)
            {
                ls.AddRange(raw.L);
            }

            foreach (var map in raw.Maps)
            {
                int stride = Math.Max(1, map.Length * 64 / MaxCalibrationPixels);
                for (int p = 0; p < map.Length; p += stride)
                {
                    pixels.Add(map[p]);
                }
            }
        }

        if (rs.Count == 0)
        {
            throw new ArgumentException("Calibration needs at least one normal image.", nameof(normalBatches));
        }

        var (rMean, rStd) = MeanStd(rs);
        var (lMean, lStd) = ls.Count > 0 ? MeanStd(ls) : (0.0, 1.0);
        Calibration = new ScoreCalibration(rMean, rStd, lMean, lStd, double.NaN, double.NaN, rs.Count, heldOut);
        var combined = rs.Select((r, i) => Combine(r, ls.Count > 0 ? ls[i] : null)).ToList();
        double threshold = AnomalyMaps.Quantile(combined, 1 - options.TargetFalsePositiveRate);
        double pixelThreshold = AnomalyMaps.Quantile(pixels, 1 - options.PixelFalsePositiveRate);
        Calibration = Calibration with { Threshold = threshold, PixelThreshold = pixelThreshold };
        return Calibration;
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
            throw new ArgumentException($"Dimensions 2 and 3 (height, width) are {images.shape[2]}×{images.shape[3]} in {shape}; the model takes {size}×{size} images (resize first, or score files, which are resized).", nameof(images));
        }

        if (images.dtype is ScalarType.Bool or ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64)
        {
            throw new ArgumentException($"The image batch has element type {images.dtype}; a real-valued tensor in [-1, 1] is expected.", nameof(images));
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first image that holds NaN or an infinity.</summary>
    internal static void CheckFinite(Tensor images)
    {
        using var scope = NewDisposeScope();
        var perImage = isfinite(images).reshape(images.shape[0], -1).all(1).cpu();
        var ok = perImage.data<bool>().ToArray();
        int bad = Array.IndexOf(ok, false);
        if (bad >= 0)
        {
            throw new ArgumentException($"Image {bad} of the batch (of {ok.Length}) holds NaN or infinite values; scores would be meaningless.", nameof(images));
        }
    }

    /// <summary>Restores a calibration (after loading a model).</summary>
    internal void SetCalibration(ScoreCalibration? calibration) => Calibration = calibration;

    /// <summary>Computes raw scores and maps without normalisation.</summary>
    internal RawScores ComputeRaw(Tensor images)
    {
        var netOptions = generator.Options;
        CheckShape(images, netOptions.Channels, netOptions.ImageSize);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        generator.eval();
        discriminator?.eval();
        var device = generator.parameters().First().device;
        var x = images.to(float32).to(device);
        CheckFinite(x);
        var recon = generator.forward(x);
        var raw = AnomalyMaps.SquaredError(x, recon, options.ResidualFilterSigma(netOptions.ImageSize));
        var smooth = AnomalyMaps.Smooth(raw, options.MapSigma(netOptions.ImageSize));
        var r = AnomalyMaps.Pool(raw, smooth, options.Pooling, options.TopFraction).to(float64).cpu().data<double>().ToArray();
        double[]? l = null;
        if (discriminator is not null)
        {
            var fReal = discriminator.forward(x).Features;
            var fFake = discriminator.forward(recon).Features;
            if (normalizeFeatures)
            {
                fReal = Losses.UnitLength(fReal);
                fFake = Losses.UnitLength(fFake);
            }

            l = (fReal - fFake).square().mean(new long[] { 1 }).to(float64).cpu().data<double>().ToArray();
        }

        int b = (int)x.shape[0];
        int s = (int)x.shape[2];
        int c = (int)x.shape[1];
        var mapsCpu = smooth.to(float32).cpu().contiguous().data<float>().ToArray();
        var reconCpu = recon.to(float32).cpu().contiguous().data<float>().ToArray();
        var maps = new float[b][];
        var recons = new float[b][];
        for (int i = 0; i < b; i++)
        {
            maps[i] = mapsCpu.AsSpan(i * s * s, s * s).ToArray();
            recons[i] = reconCpu.AsSpan(i * c * s * s, c * s * s).ToArray();
        }

        return new RawScores(r, l, maps, recons, s, c);
    }

    private static (double Mean, double Std) MeanStd(List<double> values)
    {
        double mean = values.Average();
        double variance = values.Sum(v => (v - mean) * (v - mean)) / values.Count;
        return (mean, Math.Max(Math.Sqrt(variance), 1e-12));
    }

    /// <summary>Raw per-image scores and CPU copies of maps and reconstructions.</summary>
    internal sealed record RawScores(double[] R, double[]? L, float[][] Maps, float[][] Reconstruction, int Size, int Channels);
}
