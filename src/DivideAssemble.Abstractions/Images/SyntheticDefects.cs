namespace DivideAssemble;

/// <summary>
/// A labelled validation set made from normal images only: every normal image appears once as it is
/// (label 0) and once with a synthetic defect painted in (label 1, with its mask). The defects are a
/// patch cut from another image and pasted elsewhere, a stain (an ellipse pulled towards a random grey)
/// and a scratch (a thick line of a random grey), chosen and placed by a seeded generator, in coordinates
/// relative to the image so that any read size paints the same defect. The pasted patch is mirrored and
/// its contrast halved towards a random grey, so it differs from the texture around it.
/// </summary>
/// <remarks>
/// Use it to choose settings (block division, memory size, temperature) without looking at a real test
/// set: train on some normal images and validate on the rest through this source. Synthetic defects are
/// not real ones; the ranking of settings they give is evidence, not proof.
/// </remarks>
public sealed class SyntheticDefects : ILabeledImageSource
{
    private readonly IImageSource normals;
    private readonly Defect[] defects;
    private readonly int maskSize;

    /// <summary>Initializes a new instance of the <see cref="SyntheticDefects"/> class.</summary>
    /// <param name="normals">Normal images not used for training.</param>
    /// <param name="seed">Seed of the defect generator.</param>
    /// <param name="maskSize">Side of the ground-truth masks.</param>
    /// <exception cref="ArgumentException"><paramref name="normals"/> holds fewer than two images.</exception>
    public SyntheticDefects(IImageSource normals, int seed = 0, int maskSize = 256)
    {
        ArgumentNullException.ThrowIfNull(normals);
        if (normals.Count < 2)
        {
            throw new ArgumentException($"Synthetic defects need at least two normal images (a patch comes from another image); the source holds {normals.Count}.", nameof(normals));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maskSize, 8);
        this.normals = normals;
        this.maskSize = maskSize;
        var random = new Random(seed);
        defects = new Defect[normals.Count];
        for (int i = 0; i < defects.Length; i++)
        {
            var kind = (DefectKind)(i % 3);
            int donor = (i + 1 + random.Next(normals.Count - 1)) % normals.Count;
            double cx = 0.2 + (0.6 * random.NextDouble()), cy = 0.2 + (0.6 * random.NextDouble());
            double a = kind == DefectKind.Scratch ? 0.15 + (0.15 * random.NextDouble()) : 0.06 + (0.08 * random.NextDouble());
            double b = kind == DefectKind.Scratch ? 0.008 + (0.012 * random.NextDouble()) : 0.06 + (0.08 * random.NextDouble());
            double angle = Math.PI * random.NextDouble();
            double sx = 0.2 + (0.6 * random.NextDouble()), sy = 0.2 + (0.6 * random.NextDouble());
            float grey = (float)((random.NextDouble() * 2) - 1);
            defects[i] = new Defect(kind, donor, cx, cy, a, b, angle, sx, sy, grey);
        }
    }

    private enum DefectKind
    {
        Patch,
        Stain,
        Scratch,
    }

    /// <inheritdoc />
    public int Count => 2 * normals.Count;

    /// <inheritdoc />
    public bool HasMasks => true;

    /// <inheritdoc />
    public string GetName(int index)
    {
        CheckIndex(index);
        return index < normals.Count ? normals.GetName(index) : $"{normals.GetName(index - normals.Count)} (synthetic {defects[index - normals.Count].Kind.ToString().ToLowerInvariant()})";
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
        normals.Read(i, channels, size, destination);
        float[]? donor = null;
        if (d.Kind == DefectKind.Patch)
        {
            donor = new float[channels * size * size];
            normals.Read(d.Donor, channels, size, donor);
        }

        int plane = size * size;
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                double u = (x + 0.5) / size, v = (y + 0.5) / size;
                if (!d.Contains(u, v))
                {
                    continue;
                }

                for (int c = 0; c < channels; c++)
                {
                    int at = (c * plane) + (y * size) + x;
                    destination[at] = d.Kind switch
                    {
                        DefectKind.Patch => (0.5f * donor![(c * plane) + DonorOffset(d, u, v, size)]) + (0.5f * d.Grey),
                        DefectKind.Stain => (0.4f * destination[at]) + (0.6f * d.Grey),
                        _ => d.Grey,
                    };
                }
            }
        }
    }

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
                    pixels[(y * maskSize) + x] = d.Contains((x + 0.5) / maskSize, (y + 0.5) / maskSize);
                }
            }
        }

        return new BinaryMask(maskSize, maskSize, pixels);
    }

    private static int DonorOffset(Defect d, double u, double v, int size)
    {
        // Mirrored in both directions so that the pasted texture runs against its surroundings.
        int x = Math.Clamp((int)((d.SourceX - (u - d.X)) * size), 0, size - 1);
        int y = Math.Clamp((int)((d.SourceY - (v - d.Y)) * size), 0, size - 1);
        return (y * size) + x;
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The synthetic validation set holds {Count} images.");
        }
    }

    private readonly record struct Defect(DefectKind Kind, int Donor, double X, double Y, double A, double B, double Angle, double SourceX, double SourceY, float Grey)
    {
        public bool Contains(double u, double v)
        {
            double dx = u - X, dy = v - Y;
            if (Kind == DefectKind.Patch)
            {
                return Math.Abs(dx) <= A && Math.Abs(dy) <= B;
            }

            double along = (dx * Math.Cos(Angle)) + (dy * Math.Sin(Angle));
            double across = (-dx * Math.Sin(Angle)) + (dy * Math.Cos(Angle));
            return Kind == DefectKind.Stain
                ? ((along * along) / (A * A)) + ((across * across) / (B * B)) <= 1
                : Math.Abs(along) <= A && Math.Abs(across) <= B;
        }
    }
}
