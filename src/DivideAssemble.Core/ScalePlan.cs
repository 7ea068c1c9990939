namespace DivideAssemble;

/// <summary>The geometry of one scale of the generator: its feature map and its memory's blocks.</summary>
/// <param name="Scale">1-based scale index (1 is the finest, the last is the bottleneck).</param>
/// <param name="Channels">Channels C_l of the feature map.</param>
/// <param name="Size">Height and width H_l = W_l of the feature map.</param>
/// <param name="HasMemory">Whether this scale's skip passes through a block memory.</param>
/// <param name="HeightRatio">Effective height ratio (after capping).</param>
/// <param name="WidthRatio">Effective width ratio (after capping).</param>
/// <param name="ChannelRatio">Effective channel ratio (after capping).</param>
/// <param name="Capped">Whether a configured ratio exceeded the feature map and was capped to it.</param>
public sealed record ScalePlan(int Scale, int Channels, int Size, bool HasMemory, int HeightRatio, int WidthRatio, int ChannelRatio, bool Capped)
{
    /// <summary>Gets the number of blocks Q.</summary>
    public long BlockCount => (long)HeightRatio * WidthRatio * ChannelRatio;

    /// <summary>Gets the block length D.</summary>
    public long BlockLength => (long)(Channels / ChannelRatio) * (Size / HeightRatio) * (Size / WidthRatio);

    /// <inheritdoc />
    public override string ToString() => HasMemory
        ? $"scale {Scale}: {Channels}×{Size}×{Size}, division {HeightRatio},{WidthRatio},{ChannelRatio}{(Capped ? " (capped)" : string.Empty)}, Q={BlockCount}, D={BlockLength}"
        : $"scale {Scale}: {Channels}×{Size}×{Size}, no memory";
}

/// <summary>Computes and checks the per-scale geometry of a generator before any tensor is made.</summary>
internal static class NetworkPlanner
{
    /// <summary>Plans every scale, collecting configuration errors (each names its property) instead of throwing.</summary>
    public static IReadOnlyList<ScalePlan> Plan(NetworkOptions options, List<string> errors)
    {
        var plans = new List<ScalePlan>();
        if (options.Depth < 1 || options.ImageSize < 1 || options.BaseWidth < 1 || options.MaxWidth < 1 || options.MemoryScales is null)
        {
            return plans;
        }

        long divisor = 1L << Math.Min(options.Depth, 30);
        if (options.ImageSize % divisor != 0)
        {
            errors.Add($"{nameof(NetworkOptions.ImageSize)}: {options.ImageSize} is not divisible by 2^{nameof(NetworkOptions.Depth)} = {divisor}.");
            return plans;
        }

        foreach (int s in options.MemoryScales)
        {
            if (s < 1 || s > options.Depth)
            {
                errors.Add($"{nameof(NetworkOptions.MemoryScales)}: scale {s} is outside 1..{options.Depth}.");
            }
        }

        bool pixel = options.PerPixel || options.Variant == ModelVariant.MemAE;
        var reported = new HashSet<string>();
        for (int l = 1; l <= options.Depth; l++)
        {
            int channels = options.StageWidth(l - 1);
            int size = options.ImageSize >> l;
            bool memory = options.HasMemory && (options.MemoryScales.Count == 0 || options.MemoryScales.Contains(l));
            if (!memory)
            {
                plans.Add(new ScalePlan(l, channels, size, false, 1, 1, 1, false));
                continue;
            }

            bool capped = false;
            int Effective(int ratio, int dimension, string property, string name)
            {
                if (pixel && property != nameof(NetworkOptions.ChannelRatio))
                {
                    return dimension;
                }

                if (ratio > dimension)
                {
                    capped = true;
                    return dimension;
                }

                if (ratio < 1 || dimension % ratio != 0)
                {
                    if (ratio >= 1 && reported.Add(property))
                    {
                        errors.Add($"{property}: {ratio} does not divide the {name} {dimension} of scale {l} (a ratio may exceed a feature map, then it is capped, but a smaller one must divide it).");
                    }

                    return 1;
                }

                return ratio;
            }

            int rh = Effective(options.ResolvedHeightRatio, size, nameof(NetworkOptions.HeightRatio), "height");
            int rw = Effective(options.ResolvedWidthRatio, size, nameof(NetworkOptions.WidthRatio), "width");
            int rc = Effective(options.ChannelRatio, channels, nameof(NetworkOptions.ChannelRatio), "channel count");
            plans.Add(new ScalePlan(l, channels, size, true, rh, rw, rc, capped));
        }

        return plans;
    }
}
