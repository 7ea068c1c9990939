using DivideAssemble.Scoring;
using DivideAssemble.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Training;

/// <summary>
/// Synthetic anomalies for training, made on the fly from the batch itself — no outside data: an
/// irregular region (Perlin noise at a random scale, rotated, thresholded at 0.5 as DRAEM draws them, or
/// a thin band where the noise is near 0) is filled with the image itself relit (brighter, darker, in another
/// contrast, blurred), with another normal image of the batch under strong photometric and geometric
/// augmentation, or with procedural Perlin texture, at a random opacity, so faint anomalies are common; about
/// <see cref="TrainingOptions.CleanFraction"/> of the images stay clean. On colour images the augmentation,
/// the relighting and the textures change colour as well as brightness.
/// </summary>
/// <remarks>
/// Every random choice comes from the <see cref="Random"/> the caller passes (the trainer seeds one per
/// epoch from <see cref="DaadOptions.Seed"/>, so a resumed run repeats it and the caller's libtorch
/// generator is never drawn from); the pixels are tensor operations on the batch's device, one image at a
/// time (a batch holds a handful).
/// </remarks>
internal sealed class AnomalySynthesis
{
    /// <summary>The smallest share of the image a painted region covers (a few redraws are tried before accepting less).</summary>
    private const float MinimumArea = 0.005f;

    /// <summary>The smallest local change (in the [-1, 1] range, about 6 grey levels) a labelled anomaly pixel shows.</summary>
    private const double VisibleChange = 0.05;

    private readonly double cleanFraction;
    private readonly double minOpacity;
    private readonly double maxOpacity;

    public AnomalySynthesis(TrainingOptions options)
    {
        cleanFraction = options.CleanFraction;
        minOpacity = options.MinAnomalyOpacity;
        maxOpacity = options.MaxAnomalyOpacity;
    }

    /// <summary>
    /// What the generator reads and is asked for, given a batch: the batch itself (no synthesis), or the
    /// batch with anomalies painted and the clean batch (restoration) or the painted one again.
    /// </summary>
    public static TrainingBatch Prepare(AnomalySynthesis? synthesis, bool restoration, Tensor x, Random? random)
    {
        if (synthesis is null)
        {
            return new TrainingBatch(x, x, null);
        }

        var (corrupted, masks) = synthesis.Apply(x, random ?? throw new ArgumentNullException(nameof(random), "Synthetic anomalies need a seeded Random."));
        return new TrainingBatch(corrupted, restoration ? x : corrupted, masks);
    }

    /// <summary>
    /// Corrupts a batch <c>[B, C, S, S]</c> in [-1, 1]: returns the corrupted batch and the masks <c>[B, 1, S, S]</c>
    /// (1 where an anomaly was painted and visibly changed the image; all 0 for a clean image).
    /// </summary>
    public (Tensor Images, Tensor Masks) Apply(Tensor x, Random random)
    {
        long b = x.shape[0], c = x.shape[1], s = x.shape[2];
        using var scope = NewDisposeScope();
        var images = new Tensor[b];
        var masks = new Tensor[b];
        for (int i = 0; i < b; i++)
        {
            var image = x[i];
            if (random.NextDouble() < cleanFraction)
            {
                images[i] = image;
                masks[i] = zeros(1, s, s, dtype: x.dtype, device: x.device);
                continue;
            }

            var mask = Mask(s, random, x.device).to(x.dtype);
            for (int attempt = 0; attempt < 4 && mask.mean().item<float>() < MinimumArea; attempt++)
            {
                mask = Mask(s, random, x.device).to(x.dtype); // an empty or speck-sized region would teach nothing
            }

            double kind = random.NextDouble();
            var source = kind < 0.4 ? Relit(image, random)
                : kind < 0.7 && b > 1 ? Augment(x[(i + 1 + random.Next((int)b - 1)) % b], random)
                : Texture(c, s, random, x.device).to(x.dtype);
            double opacity = minOpacity + ((maxOpacity - minOpacity) * random.NextDouble());
            var weight = ScalarMath.Mul(mask, opacity);
            images[i] = ScalarMath.Sum(image.mul(ScalarMath.Add(weight.neg(), 1)), source.mul(weight)).clamp(ScalarMath.MinusOne, ScalarMath.One);
            masks[i] = Changed(images[i], image, mask);
        }

        return (stack(images).MoveToOuterDisposeScope(), stack(masks).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The part of <paramref name="mask"/> where the image visibly changed: the channel-mean absolute change,
    /// averaged over 3×3 pixels, above <see cref="VisibleChange"/> (a painted pixel that happens to keep its
    /// value is no anomaly, and labelling it one would teach the head to guess).
    /// </summary>
    private static Tensor Changed(Tensor painted, Tensor image, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var change = painted.sub(image).abs().mean(new long[] { 0 }, keepdim: true).unsqueeze(0);
        var local = nn.functional.avg_pool2d(change, 3, stride: 1, padding: 1, count_include_pad: false).squeeze(0);
        using var threshold = VisibleChange.ToScalar();
        return mask.mul(local.gt(threshold).to(mask.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// 2-d Perlin noise <c>[S, S]</c> in about [-1, 1] with <paramref name="cells"/> lattice cells along each side:
    /// random unit gradients at the lattice points, dot products with the offsets, quintic fade (Perlin 2002).
    /// </summary>
    internal static Tensor Perlin(long size, int cells, Random random, Device device)
    {
        long cell = (size + cells - 1) / cells, padded = cell * cells;
        var angles = new float[(cells + 1) * (cells + 1)];
        for (int k = 0; k < angles.Length; k++)
        {
            angles[k] = (float)(2 * Math.PI * random.NextDouble());
        }

        using var scope = NewDisposeScope();
        var a = tensor(angles, new long[] { cells + 1, cells + 1 }, device: device);
        var gx = a.cos();
        var gy = a.sin();

        // Position of each pixel inside its cell, in [0, 1).
        using var stop = padded.ToScalar();
        var t = ScalarMath.Div(ScalarMath.Add(arange(ScalarMath.Zero, stop, ScalarMath.One, dtype: float32, device: device), 0.5), cell);
        var frac = t.sub(t.floor());
        var fy = frac.reshape(-1, 1).expand(padded, padded);
        var fx = frac.reshape(1, -1).expand(padded, padded);
        Tensor Tile(Tensor g, int dy, int dx) => g.narrow(0, dy, cells).narrow(1, dx, cells).repeat_interleave(cell, 0).repeat_interleave(cell, 1);
        Tensor Dot(int dy, int dx) => ScalarMath.Sum(Tile(gx, dy, dx).mul(ScalarMath.Sub(fx, dx)), Tile(gy, dy, dx).mul(ScalarMath.Sub(fy, dy)));
        var wx = Fade(fx);
        var wy = Fade(fy);
        var top = lerp(Dot(0, 0), Dot(0, 1), wx);
        var bottom = lerp(Dot(1, 0), Dot(1, 1), wx);
        var noise = ScalarMath.Mul(lerp(top, bottom, wy), Math.Sqrt(2));
        return noise.narrow(0, 0, size).narrow(1, 0, size).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>6t⁵ − 15t⁴ + 10t³.</summary>
    private static Tensor Fade(Tensor t)
    {
        var t3 = t.mul(t).mul(t);
        return t3.mul(ScalarMath.Add(t.mul(ScalarMath.Sub(ScalarMath.Mul(t, 6), 15)), 10));
    }

    /// <summary>
    /// An anomaly region <c>[1, S, S]</c> from Perlin noise of 2^k cells per side turned by up to ±90°: mostly
    /// the blobs above 0.5 (DRAEM's masks), sometimes the thin winding bands where the noise is near 0
    /// (cracks, threads and scratches are thin).
    /// </summary>
    private static Tensor Mask(long size, Random random, Device device)
    {
        int maxExponent = Math.Max(1, (int)Math.Log2(Math.Max(2, size / 8)));
        int cells = 1 << random.Next(0, maxExponent + 1);
        bool thin = random.NextDouble() < 0.3;
        double band = 0.02 + (0.06 * random.NextDouble());
        using var scope = NewDisposeScope();
        var noise = Rotate(Perlin(size, thin ? Math.Min(cells, 8) : cells, random, device).unsqueeze(0), (random.NextDouble() - 0.5) * Math.PI);
        using var threshold = (thin ? band : 0.5).ToScalar();
        return (thin ? noise.abs().lt(threshold) : noise.gt(threshold)).to(float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The image itself, changed where the anomaly will be: brighter or darker, lower or higher in contrast,
    /// blurred (a worn or stained surface keeps its texture and changes its light); on colour images with a tint.
    /// </summary>
    private static Tensor Relit(Tensor image, Random random)
    {
        using var scope = NewDisposeScope();
        double sign = random.Next(2) == 0 ? -1 : 1;
        var x = random.Next(3) switch
        {
            0 => ScalarMath.Add(image, sign * (0.25 + (0.6 * random.NextDouble()))),
            1 => ScalarMath.Sum(ScalarMath.Mul(image.sub(image.mean()), random.Next(2) == 0 ? 0.1 + (0.4 * random.NextDouble()) : 1.8 + (1.2 * random.NextDouble())), ScalarMath.Add(image.mean(), sign * 0.4 * random.NextDouble())),
            _ => ScalarMath.Add(AnomalyMaps.Smooth(image, 1.5 + (2 * random.NextDouble())), sign * 0.4 * random.NextDouble()),
        };
        if (image.shape[0] == 3)
        {
            var tint = tensor(Enumerable.Range(0, 3).Select(_ => (float)((random.NextDouble() - 0.5) * 0.6)).ToArray(), new long[] { 3, 1, 1 }, device: image.device).to(image.dtype);
            x = ScalarMath.Sum(x, tint);
        }

        return x.clamp(ScalarMath.MinusOne, ScalarMath.One).MoveToOuterDisposeScope();
    }

    /// <summary>Turns <c>[C, S, S]</c> by <paramref name="angle"/> radians about the centre (edges reflected), bilinear.</summary>
    private static Tensor Rotate(Tensor image, double angle)
    {
        float cos = (float)Math.Cos(angle), sin = (float)Math.Sin(angle);
        using var scope = NewDisposeScope();
        var theta = tensor(new[] { cos, -sin, 0f, sin, cos, 0f }, new long[] { 1, 2, 3 }, device: image.device);
        var grid = nn.functional.affine_grid(theta, new long[] { 1, image.shape[0], image.shape[1], image.shape[2] }, align_corners: false);
        return nn.functional.grid_sample(image.unsqueeze(0).to(float32), grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Reflection, align_corners: false)
            .squeeze(0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Another normal image made foreign, so a patch of it is no longer the texture around it: seen at another
    /// scale (zoomed in 1.8–4× or shrunk 2–4× and tiled), turned by a quarter turn and flipped, shifted, then
    /// one strong photometric change (inversion, posterisation, solarisation, contrast far from 1, a large
    /// brightness shift) and one more of those or gamma or blur — and on colour images a channel permutation
    /// and per-channel gains.
    /// </summary>
    private static Tensor Augment(Tensor image, Random random)
    {
        using var scope = NewDisposeScope();
        long c = image.shape[0], s = image.shape[1];
        var x = Rescale(image, random).rot90(random.Next(4), (1, 2));
        if (random.Next(2) == 1)
        {
            x = x.flip(2);
        }

        x = x.roll(new long[] { random.Next((int)s), random.Next((int)s) }, new long[] { 1, 2 });
        x = Photometric(x, Strong[random.Next(Strong.Length)], random);
        x = Photometric(x, random.Next(7), random);
        if (c == 3)
        {
            var order = Enumerable.Range(0, 3).OrderBy(_ => random.Next()).Select(k => (long)k).ToArray();
            var gains = tensor(Enumerable.Range(0, 3).Select(_ => (float)(0.6 + (0.8 * random.NextDouble()))).ToArray(), new long[] { 3, 1, 1 }, device: x.device).to(x.dtype);
            x = x.index_select(0, tensor(order, device: x.device)).mul(gains);
        }

        return x.clamp(ScalarMath.MinusOne, ScalarMath.One).MoveToOuterDisposeScope();
    }

    /// <summary>The photometric changes that always make a texture foreign: brightness, contrast, inversion, posterisation, solarisation.</summary>
    private static readonly int[] Strong = { 0, 1, 3, 4, 5 };

    /// <summary><c>[C, S, S]</c> seen at another scale: a random crop of 1/z of the side zoomed to the full side, or the image shrunk by z and tiled.</summary>
    private static Tensor Rescale(Tensor image, Random random)
    {
        long s = image.shape[1];
        double zoom = 2 + (2 * random.NextDouble());
        using var scope = NewDisposeScope();
        if (random.Next(2) == 0)
        {
            long side = Math.Max(4, (long)(s / zoom));
            long top = random.Next((int)(s - side + 1)), left = random.Next((int)(s - side + 1));
            var crop = image.narrow(1, top, side).narrow(2, left, side).unsqueeze(0);
            return nn.functional.interpolate(crop, new long[] { s, s }, mode: InterpolationMode.Bilinear, align_corners: false).squeeze(0).MoveToOuterDisposeScope();
        }

        long small = Math.Max(4, (long)(s / zoom));
        var shrunk = nn.functional.interpolate(image.unsqueeze(0), new long[] { small, small }, mode: InterpolationMode.Bilinear, align_corners: false, antialias: true).squeeze(0);
        long repeats = (s + small - 1) / small;
        return shrunk.repeat(1, repeats, repeats).narrow(1, 0, s).narrow(2, 0, s).contiguous().MoveToOuterDisposeScope();
    }

    private static Tensor Photometric(Tensor x, int operation, Random random)
    {
        switch (operation)
        {
            case 0: // brightness, by 0.3 to 0.8 either way
                return ScalarMath.Add(x, (random.Next(2) == 0 ? -1 : 1) * (0.3 + (0.5 * random.NextDouble())));
            case 1: // contrast about the image mean, far from 1
                var mean = x.mean();
                return ScalarMath.Sum(ScalarMath.Mul(x.sub(mean), random.Next(2) == 0 ? 0.1 + (0.3 * random.NextDouble()) : 2 + random.NextDouble()), mean);
            case 2: // gamma on [0, 1]
                using (var g = (0.5 + (1.5 * random.NextDouble())).ToScalar())
                {
                    var unit = ScalarMath.Mul(ScalarMath.Add(x, 1), 0.5).clamp(ScalarMath.Zero, ScalarMath.One);
                    return ScalarMath.Sub(ScalarMath.Mul(unit.pow(g), 2), 1);
                }

            case 3: // inversion
                return x.neg();
            case 4: // posterisation to 2–8 levels
                double levels = 1 << random.Next(1, 4);
                return ScalarMath.Sub(ScalarMath.Div(ScalarMath.Mul(ScalarMath.Add(x, 1), levels / 2).floor(), levels / 2), 1);
            case 5: // solarisation above a threshold
                using (var threshold = (random.NextDouble() - 0.5).ToScalar())
                {
                    return where(x.gt(threshold), x.neg(), x);
                }

            default: // blur
                long c = x.shape[0];
                return AnomalyMaps.Smooth(x, 0.5 + (2 * random.NextDouble())).reshape(c, x.shape[1], x.shape[2]);
        }
    }

    /// <summary>Procedural texture <c>[C, S, S]</c>: Perlin noise of 4–32 cells mapped to a random range per channel (a colour on colour images).</summary>
    private static Tensor Texture(long channels, long size, Random random, Device device)
    {
        int cells = Math.Min((int)size / 2, 4 << random.Next(0, 4));
        using var scope = NewDisposeScope();
        var noise = ScalarMath.Mul(ScalarMath.Add(Perlin(size, cells, random, device).clamp(ScalarMath.MinusOne, ScalarMath.One), 1), 0.5);
        var planes = new Tensor[channels];
        for (int k = 0; k < channels; k++)
        {
            double low = (random.NextDouble() * 2) - 1, high = (random.NextDouble() * 2) - 1;
            planes[k] = ScalarMath.Add(ScalarMath.Mul(noise, high - low), low);
        }

        return stack(planes).MoveToOuterDisposeScope();
    }
}

/// <summary>One batch as training uses it: what the generator reads, what it is asked for, and the anomaly masks (none without synthesis).</summary>
internal sealed record TrainingBatch(Tensor Input, Tensor Target, Tensor? Masks);
