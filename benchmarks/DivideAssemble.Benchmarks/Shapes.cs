using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Benchmarks;

/// <summary>Feature shapes of the library's default network at 256×256 (depth 4, base width 32).</summary>
internal static class Shapes
{
    public const int Batch = 8;
    public const int ImageSize = 256;

    public static NetworkOptions Network(ModelVariant variant, int imageSize) => new()
    {
        Variant = variant,
        ImageSize = imageSize,
        Channels = 3,
    };

    /// <summary>The (channels, size) of scale <paramref name="scale"/> (1-based) of the default 256×256 model.</summary>
    public static (int Channels, int Size) Scale(int scale)
    {
        var plan = Network(ModelVariant.AutoencoderSkip, ImageSize).PlanScales();
        var p = plan[scale - 1];
        return (p.Channels, p.Size);
    }

    /// <summary>Queries <c>[B, Q, D]</c> of one scale divided with ratio r (0 = per pixel).</summary>
    public static (Tensor Blocks, long D) Blocks(int scale, int ratio)
    {
        var (c, s) = Scale(scale);
        int r = ratio == 0 ? s : Math.Min(ratio, s);
        var divider = new BlockDivider(r, r, 1);
        using var features = randn(Batch, c, s, s);
        var blocks = divider.Divide(features).contiguous();
        return (blocks, blocks.shape[2]);
    }
}
