using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// Divides a feature map into a grid of blocks and assembles blocks back into a feature map
/// (the "divide" and "assemble" steps of DAAD).
/// </summary>
/// <remarks>
/// A feature map <c>[B, C, H, W]</c> is split into <c>Q = rh·rw·rc</c> blocks of
/// <c>(C/rc)×(H/rh)×(W/rw)</c> values each, flattened to vectors of length
/// <c>D = (H/rh)(W/rw)(C/rc)</c>. Block <c>k = (g·rh + i)·rw + j</c> holds channel group
/// <c>g</c> of spatial cell (row <c>i</c>, column <c>j</c>); inside a block, values are ordered
/// channel, row, column. Ratios equal to <c>H</c> and <c>W</c> (with <c>rc = 1</c>) give one
/// block per pixel, the pixel-wise memory of MemAE.
/// </remarks>
public sealed class BlockDivider
{
    /// <summary>Creates a divider with the given division ratios.</summary>
    /// <param name="heightRatio">Number of blocks along the height (r_h).</param>
    /// <param name="widthRatio">Number of blocks along the width (r_w).</param>
    /// <param name="channelRatio">Number of channel groups (r_c).</param>
    /// <exception cref="ArgumentOutOfRangeException">A ratio is below 1.</exception>
    public BlockDivider(int heightRatio, int widthRatio, int channelRatio)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(heightRatio, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(widthRatio, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channelRatio, 1);
        HeightRatio = heightRatio;
        WidthRatio = widthRatio;
        ChannelRatio = channelRatio;
    }

    /// <summary>Gets the number of blocks along the height (r_h).</summary>
    public int HeightRatio { get; }

    /// <summary>Gets the number of blocks along the width (r_w).</summary>
    public int WidthRatio { get; }

    /// <summary>Gets the number of channel groups (r_c).</summary>
    public int ChannelRatio { get; }

    /// <summary>Gets the number of blocks per feature map, <c>Q = rh·rw·rc</c>.</summary>
    public int BlockCount => HeightRatio * WidthRatio * ChannelRatio;

    /// <summary>Returns the length of one block vector for a feature map of the given size.</summary>
    /// <exception cref="ArgumentException">A ratio does not divide its dimension.</exception>
    public long BlockLength(long channels, long height, long width)
    {
        Check(channels, height, width);
        return channels / ChannelRatio * (height / HeightRatio) * (width / WidthRatio);
    }

    /// <summary>Divides <c>[B, C, H, W]</c> features into blocks <c>[B, Q, D]</c>.</summary>
    /// <exception cref="ArgumentException">The tensor is not 4-D or a ratio does not divide its dimension.</exception>
    public Tensor Divide(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.dim() != 4)
        {
            throw new ArgumentException($"Expected features of shape [B, C, H, W], got [{string.Join(", ", features.shape)}].", nameof(features));
        }

        long b = features.shape[0], c = features.shape[1], h = features.shape[2], w = features.shape[3];
        Check(c, h, w);
        long rc = ChannelRatio, rh = HeightRatio, rw = WidthRatio;
        return features
            .reshape(b, rc, c / rc, rh, h / rh, rw, w / rw)
            .permute(0, 1, 3, 5, 2, 4, 6)
            .reshape(b, rc * rh * rw, c / rc * (h / rh) * (w / rw));
    }

    /// <summary>Assembles blocks <c>[B, Q, D]</c> back into a <c>[B, C, H, W]</c> feature map; the exact inverse of <see cref="Divide"/>.</summary>
    /// <exception cref="ArgumentException">The block tensor does not match the requested feature-map size.</exception>
    public Tensor Assemble(Tensor blocks, long channels, long height, long width)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        Check(channels, height, width);
        long rc = ChannelRatio, rh = HeightRatio, rw = WidthRatio;
        long d = channels / rc * (height / rh) * (width / rw);
        if (blocks.dim() != 3 || blocks.shape[1] != BlockCount || blocks.shape[2] != d)
        {
            throw new ArgumentException(
                $"Expected blocks of shape [B, {BlockCount}, {d}] for a {channels}×{height}×{width} feature map, got [{string.Join(", ", blocks.shape)}].",
                nameof(blocks));
        }

        long b = blocks.shape[0];
        return blocks
            .reshape(b, rc, rh, rw, channels / rc, height / rh, width / rw)
            .permute(0, 1, 4, 2, 5, 3, 6)
            .reshape(b, channels, height, width);
    }

    /// <inheritdoc />
    public override string ToString() => $"BlockDivider({HeightRatio}, {WidthRatio}, {ChannelRatio})";

    private void Check(long channels, long height, long width)
    {
        CheckOne("height", height, HeightRatio);
        CheckOne("width", width, WidthRatio);
        CheckOne("channels", channels, ChannelRatio);
    }

    private static void CheckOne(string dimension, long size, int ratio)
    {
        if (size <= 0 || size % ratio != 0)
        {
            throw new ArgumentException($"The {dimension} ratio {ratio} does not divide the feature map's {dimension} of {size}.");
        }
    }
}
