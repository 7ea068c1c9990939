namespace DivideAssemble;

/// <summary>
/// A labelled validation set made from normal images only: every normal image appears once as it is
/// (label 0) and once or more with one synthetic defect painted in (label 1, with its exact mask). The defects
/// are chosen to resemble the ones inspection finds, each kind at <b>faint</b> as well as <b>strong</b>
/// contrast (they alternate): an irregular blob (a mask from smooth fractal noise, as Perlin noise gives)
/// filled with foreign texture; a cut-and-paste patch of another normal image; a thin curved scratch;
/// and a stain (a soft-edged region pulled towards another grey). Everything is drawn by a seeded
/// generator in coordinates relative to the image, so any read size paints the same defect; read smaller than
/// the images are stored (<see cref="IImageSource.StoredSize"/>), a defect is drawn at the stored size and averaged
/// down, as shrinking a real defective image would.
/// </summary>
/// <remarks>
/// Use it to choose settings without a real test set: train on some normal images and validate on the
/// rest through this source (<c>daad train --select</c> does). Synthetic defects are not real ones; the
/// ranking of settings they give is evidence, not proof (docs/results.md compares it with real test sets).
/// </remarks>
public sealed class SyntheticDefects : ILabeledImageSource
{
    private const int MaxSupersampling = 8;

    private readonly IImageSource normals;
    private readonly Defect[] defects;
    private readonly int maskSize;

    /// <summary>Initializes a new instance of the <see cref="SyntheticDefects"/> class.</summary>
    /// <param name="normals">Normal images not used for training.</param>
    /// <param name="seed">Seed of the defect generator.</param>
    /// <param name="maskSize">Side of the ground-truth masks.</param>
    /// <param name="kinds">The kinds painted, in turn (each faint and strong in turn as well); <see langword="null"/> for all four.</param>
    /// <param name="defectsPerImage">How many defective copies of each normal image the set holds (each with its own defect).</param>
    /// <exception cref="ArgumentException"><paramref name="normals"/> holds fewer than two images, or <paramref name="kinds"/> is empty.</exception>
    public SyntheticDefects(IImageSource normals, int seed = 0, int maskSize = 256, IReadOnlyList<DefectKind>? kinds = null, int defectsPerImage = 1)
    {
        ArgumentNullException.ThrowIfNull(normals);
        kinds ??= new[] { DefectKind.Blob, DefectKind.CutPaste, DefectKind.Scratch, DefectKind.Stain };
        if (normals.Count < 2)
        {
            throw new ArgumentException($"Synthetic defects need at least two normal images (a patch comes from another image); the source holds {normals.Count}.", nameof(normals));
        }

        if (kinds.Count == 0 || kinds.Any(k => !Enum.IsDefined(k)))
        {
            throw new ArgumentException("Give at least one defined kind of defect.", nameof(kinds));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(defectsPerImage, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maskSize, 8);
        this.normals = normals;
        this.maskSize = maskSize;
        var random = new Random(seed);
        defects = new Defect[normals.Count * defectsPerImage];
        for (int j = 0; j < defects.Length; j++)
        {
            var kind = kinds[j % kinds.Count];
            bool faint = (j / kinds.Count) % 2 == 0;
            defects[j] = Defect.Draw(kind, faint, j % normals.Count, normals.Count, random);
        }
    }

    /// <summary>The kinds of synthetic defect.</summary>
    public enum DefectKind
    {
        /// <summary>An irregular region (fractal-noise mask) filled with foreign texture.</summary>
        Blob = 0,

        /// <summary>A patch of another normal image pasted elsewhere, mirrored.</summary>
        CutPaste = 1,

        /// <summary>A thin curved line brighter or darker than its surroundings.</summary>
        Scratch = 2,

        /// <summary>A soft-edged region pulled towards another grey level.</summary>
        Stain = 3,
    }

    /// <inheritdoc />
    public int Count => normals.Count + defects.Length;

    /// <inheritdoc />
    public int? StoredChannels() => normals.StoredChannels();

    /// <inheritdoc />
    public int? StoredSize() => normals.StoredSize();

    /// <inheritdoc />
    public bool HasMasks => true;

    /// <summary>Returns the kind and contrast of the defect of image <paramref name="index"/> (for the anomalous half).</summary>
    public (DefectKind Kind, bool Faint) Describe(int index)
    {
        CheckIndex(index);
        if (index < normals.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "The first half of the set is the normal images, without defects.");
        }

        var d = defects[index - normals.Count];
        return (d.Kind, d.Faint);
    }

    /// <inheritdoc />
    public string GetName(int index)
    {
        CheckIndex(index);
        if (index < normals.Count)
        {
            return normals.GetName(index);
        }

        var d = defects[index - normals.Count];
        return $"{normals.GetName((index - normals.Count) % normals.Count)} (synthetic {(d.Faint ? "faint" : "strong")} {d.Kind.ToString().ToLowerInvariant()})";
    }

    /// <inheritdoc />
    public int GetLabel(int index)
    {
        CheckIndex(index);
        return index < normals.Count ? 0 : 1;
    }

    /// <inheritdoc />
    public void Read(int index, int channels, int size, Span<float> destination)
    {
        CheckIndex(index);
        if (index < normals.Count)
        {
            normals.Read(index, channels, size, destination);
            return;
        }

        int i = index - normals.Count;
        var d = defects[i];
        normals.Read(i % normals.Count, channels, size, destination);
        float[]? donor = null;
        if (d.Kind == DefectKind.CutPaste)
        {
            donor = new float[channels * size * size];
            normals.Read(d.Donor, channels, size, donor);
        }

        int plane = size * size;
        var local = LocalMean(destination, channels, size, d);

        // Read smaller than stored, the defect is drawn at the stored resolution and averaged down (k × k samples
        // per pixel, at most 8 × 8), as a real defect is when its image is shrunk: a scratch thinner than a pixel
        // turns faint, not into a dotted line at full contrast. Point-sampled, validation favoured small read sizes.
        int k = normals.StoredSize() is { } stored && stored > size ? Math.Min(MaxSupersampling, stored / size) : 1;
        var texture = new double[channels];
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                double coverage = d.Coverage(x, y, size, k, texture);
                if (coverage <= 0)
                {
                    continue;
                }

                double u = (x + 0.5) / size, v = (y + 0.5) / size;
                double weight = coverage / (k * k);
                for (int c = 0; c < channels; c++)
                {
                    int at = (c * plane) + (y * size) + x;
                    float original = destination[at];
                    double target = d.Kind switch
                    {
                        DefectKind.Blob => local[c] + (d.Shift * texture[c] / coverage),
                        DefectKind.CutPaste => donor![(c * plane) + d.DonorOffset(u, v, size)] + (d.Shift * 0.5),
                        DefectKind.Scratch => original + d.Shift,
                        _ => original + d.Shift,
                    };
                    destination[at] = (float)Math.Clamp(original + (d.Alpha * weight * (target - original)), -1.0, 1.0);
                }
            }
        }
    }

    /// <summary>Returns the ground truth of image <paramref name="index"/>: every pixel the defect changes, a stain's soft edge included.</summary>
    /// <inheritdoc />
    public BinaryMask? ReadMask(int index)
    {
        CheckIndex(index);
        var pixels = new bool[maskSize * maskSize];
        if (index >= normals.Count)
        {
            var d = defects[index - normals.Count];
            for (int y = 0; y < maskSize; y++)
            {
                for (int x = 0; x < maskSize; x++)
                {
                    pixels[(y * maskSize) + x] = d.Weight((x + 0.5) / maskSize, (y + 0.5) / maskSize) > 0;
                }
            }
        }

        return new BinaryMask(maskSize, maskSize, pixels);
    }

    /// <summary>The mean of each channel around the defect, so foreign texture sits on the local grey level.</summary>
    private static double[] LocalMean(Span<float> image, int channels, int size, Defect d)
    {
        var mean = new double[channels];
        int plane = size * size, count = 0;
        int x0 = Math.Max(0, (int)((d.X - (2 * d.Radius)) * size)), x1 = Math.Min(size - 1, (int)((d.X + (2 * d.Radius)) * size));
        int y0 = Math.Max(0, (int)((d.Y - (2 * d.Radius)) * size)), y1 = Math.Min(size - 1, (int)((d.Y + (2 * d.Radius)) * size));
        for (int y = y0; y <= y1; y++)
        {
            for (int x = x0; x <= x1; x++)
            {
                for (int c = 0; c < channels; c++)
                {
                    mean[c] += image[(c * plane) + (y * size) + x];
                }

                count++;
            }
        }

        for (int c = 0; c < channels; c++)
        {
            mean[c] /= Math.Max(1, count);
        }

        return mean;
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The synthetic validation set holds {Count} images.");
        }
    }

    /// <summary>One defect, in coordinates relative to the image (0..1).</summary>
    private sealed class Defect
    {
        private const int Lattice = 8;
        private readonly double[] noise = new double[Lattice * Lattice * 2];
        private readonly double[] texture = new double[Lattice * Lattice];

        public DefectKind Kind { get; private init; }

        public bool Faint { get; private init; }

        public double X { get; private init; }

        public double Y { get; private init; }

        public double Radius { get; private init; }

        public double Alpha { get; private init; }

        public double Shift { get; private init; }

        public int Donor { get; private init; }

        private double Angle { get; init; }

        private double Width { get; init; }

        private double SourceX { get; init; }

        private double SourceY { get; init; }

        private double BendX { get; init; }

        private double BendY { get; init; }

        private double TextureFrequency { get; init; }

        public static Defect Draw(DefectKind kind, bool faint, int index, int count, Random random)
        {
            double sign = random.Next(2) == 0 ? -1 : 1;
            var d = new Defect
            {
                Kind = kind,
                Faint = faint,
                X = 0.2 + (0.6 * random.NextDouble()),
                Y = 0.2 + (0.6 * random.NextDouble()),
                Radius = kind switch
                {
                    DefectKind.Scratch => 0.12 + (0.16 * random.NextDouble()),
                    DefectKind.Stain => 0.06 + (0.1 * random.NextDouble()),
                    _ => 0.05 + (0.08 * random.NextDouble()),
                },
                Angle = Math.PI * random.NextDouble(),
                Width = 0.006 + (0.01 * random.NextDouble()),
                Donor = (index + 1 + random.Next(count - 1)) % count,
                SourceX = 0.2 + (0.6 * random.NextDouble()),
                SourceY = 0.2 + (0.6 * random.NextDouble()),
                BendX = (random.NextDouble() - 0.5) * 0.5,
                BendY = (random.NextDouble() - 0.5) * 0.5,
                TextureFrequency = 2 + (4 * random.NextDouble()),

                // Faint: a visible but low-contrast change (about 20–45 grey levels, or a third of a pasted patch); strong: unmistakable.
                Alpha = kind == DefectKind.CutPaste || kind == DefectKind.Blob ? (faint ? 0.3 + (0.15 * random.NextDouble()) : 0.85 + (0.15 * random.NextDouble())) : 1.0,
                Shift = sign * kind switch
                {
                    DefectKind.Scratch => faint ? 0.16 + (0.2 * random.NextDouble()) : 0.7 + (0.5 * random.NextDouble()),
                    DefectKind.Stain => faint ? 0.1 + (0.12 * random.NextDouble()) : 0.45 + (0.3 * random.NextDouble()),
                    DefectKind.Blob => faint ? 0.3 : 0.8,
                    _ => faint ? 0.1 : 0.3,
                },
            };
            for (int k = 0; k < d.noise.Length; k++)
            {
                d.noise[k] = random.NextDouble();
            }

            for (int k = 0; k < d.texture.Length; k++)
            {
                d.texture[k] = (random.NextDouble() * 2) - 1;
            }

            return d;
        }

        /// <summary>
        /// The sum of <see cref="Weight"/> over k × k samples of pixel (x, y) of a <paramref name="size"/>-pixel image;
        /// for a blob, <paramref name="texture"/> (one entry per channel) receives the weighted sum of its texture there.
        /// </summary>
        public double Coverage(int x, int y, int size, int k, double[] texture)
        {
            double coverage = 0;
            Array.Clear(texture);
            for (int sy = 0; sy < k; sy++)
            {
                for (int sx = 0; sx < k; sx++)
                {
                    double u = (x + ((sx + 0.5) / k)) / size, v = (y + ((sy + 0.5) / k)) / size;
                    double w = Weight(u, v);
                    coverage += w;
                    for (int c = 0; w > 0 && Kind == DefectKind.Blob && c < texture.Length; c++)
                    {
                        texture[c] += w * Texture(u, v, c);
                    }
                }
            }

            return coverage;
        }

        /// <summary>How strongly the defect covers (u, v): 0 outside, 1 inside, soft at a stain's edge.</summary>
        public double Weight(double u, double v)
        {
            double dx = u - X, dy = v - Y;
            switch (Kind)
            {
                case DefectKind.Scratch:
                    return DistanceToCurve(u, v) <= Width / 2 ? 1 : 0;
                case DefectKind.CutPaste:
                {
                    double along = (dx * Math.Cos(Angle)) + (dy * Math.Sin(Angle));
                    double across = (-dx * Math.Sin(Angle)) + (dy * Math.Cos(Angle));
                    return Math.Abs(along) <= Radius && Math.Abs(across) <= Radius * 0.6 ? 1 : 0;
                }

                case DefectKind.Stain:
                {
                    double r = Math.Sqrt((dx * dx) + (dy * dy * 1.6)) / Radius;
                    return r >= 1 ? 0 : r <= 0.75 ? 1 : (1 - r) / 0.25;
                }

                default:
                {
                    // A blob: fractal value noise, thresholded inside a disc, so the outline is irregular.
                    double r = Math.Sqrt((dx * dx) + (dy * dy)) / Radius;
                    if (r >= 1.6)
                    {
                        return 0;
                    }

                    double n = Noise(dx / Radius, dy / Radius, 0) + (0.5 * Noise(2 * dx / Radius, 2 * dy / Radius, 1));
                    return n / 1.5 > 0.35 + (0.3 * r * r) ? 1 : 0;
                }
            }
        }

        /// <summary>The foreign texture of a blob at (u, v) in [-1, 1]: smooth noise at its own frequency, unlike the image's.</summary>
        public double Texture(double u, double v, int channel)
        {
            double s = TextureFrequency / Radius;
            double gx = ((u - X) * s) + (channel * 1.7), gy = ((v - Y) * s) + (channel * 0.9);
            return Interpolate(texture, gx, gy);
        }

        /// <summary>Where the pasted patch reads its pixel: the donor around (SourceX, SourceY), mirrored in both directions.</summary>
        public int DonorOffset(double u, double v, int size)
        {
            int x = Math.Clamp((int)((SourceX - (u - X)) * size), 0, size - 1);
            int y = Math.Clamp((int)((SourceY - (v - Y)) * size), 0, size - 1);
            return (y * size) + x;
        }

        private double Noise(double gx, double gy, int octave) => Interpolate(noise.AsSpan(octave * Lattice * Lattice, Lattice * Lattice), (gx + 1.6) * 2, (gy + 1.6) * 2);

        private static double Interpolate(ReadOnlySpan<double> lattice, double gx, double gy)
        {
            gx = ((gx % Lattice) + Lattice) % Lattice;
            gy = ((gy % Lattice) + Lattice) % Lattice;
            int x0 = (int)gx, y0 = (int)gy, x1 = (x0 + 1) % Lattice, y1 = (y0 + 1) % Lattice;
            double fx = Smooth(gx - x0), fy = Smooth(gy - y0);
            double top = (lattice[(y0 * Lattice) + x0] * (1 - fx)) + (lattice[(y0 * Lattice) + x1] * fx);
            double bottom = (lattice[(y1 * Lattice) + x0] * (1 - fx)) + (lattice[(y1 * Lattice) + x1] * fx);
            return (top * (1 - fy)) + (bottom * fy);
        }

        private static double Smooth(double t) => t * t * (3 - (2 * t));

        /// <summary>The distance from (u, v) to the scratch, a quadratic Bézier through the centre, bent by (BendX, BendY).</summary>
        private double DistanceToCurve(double u, double v)
        {
            double cx = Math.Cos(Angle) * Radius, cy = Math.Sin(Angle) * Radius;
            double p0x = X - cx, p0y = Y - cy, p2x = X + cx, p2y = Y + cy;
            double p1x = X + (BendX * Radius), p1y = Y + (BendY * Radius);
            double best = double.MaxValue;
            const int Steps = 48;
            for (int k = 0; k <= Steps; k++)
            {
                double t = (double)k / Steps, a = (1 - t) * (1 - t), b = 2 * (1 - t) * t, c = t * t;
                double px = (a * p0x) + (b * p1x) + (c * p2x), py = (a * p0y) + (b * p1y) + (c * p2y);
                best = Math.Min(best, ((u - px) * (u - px)) + ((v - py) * (v - py)));
            }

            return Math.Sqrt(best);
        }
    }
}
