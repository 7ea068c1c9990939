namespace DivideAssemble;

/// <summary>
/// A random-access source of images, decoded on demand (so a data set never has to fit in memory).
/// Implementations must be safe to read from several threads at once.
/// </summary>
public interface IImageSource
{
    /// <summary>Gets the number of images.</summary>
    int Count { get; }

    /// <summary>Returns a name for image <paramref name="index"/> (its path, or <c>#index</c>), used in reports and errors.</summary>
    string GetName(int index);

    /// <summary>
    /// Writes image <paramref name="index"/> into <paramref name="destination"/> as
    /// <paramref name="channels"/>×<paramref name="size"/>×<paramref name="size"/> floats in [-1, 1]
    /// (channel-major), converting the channel count and resizing through <see cref="ImagePreprocessing"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The image cannot be read; the message names it.</exception>
    void Read(int index, int channels, int size, Span<float> destination);

    /// <summary>
    /// Returns the channels the images are stored with — 1 for grey, 3 for colour (alpha is not counted) —
    /// or <see langword="null"/> when the source cannot tell; a detector whose channels are unset takes them from here.
    /// </summary>
    /// <returns>The channel count, or <see langword="null"/>.</returns>
    int? StoredChannels() => null;

    /// <summary>
    /// Returns the side the images are stored at — the larger side of the first image — or <see langword="null"/>
    /// when the source cannot tell; <see cref="SyntheticDefects"/> draws its defects at this size when it is read smaller.
    /// </summary>
    /// <returns>The side in pixels, or <see langword="null"/>.</returns>
    int? StoredSize() => null;
}

/// <summary>An image source whose images carry a label (0 normal, 1 anomalous) and optionally a ground-truth defect mask.</summary>
public interface ILabeledImageSource : IImageSource
{
    /// <summary>Gets a value indicating whether any image has a ground-truth mask (pixel metrics apply).</summary>
    bool HasMasks { get; }

    /// <summary>Returns the label of image <paramref name="index"/>: 0 normal, 1 anomalous.</summary>
    int GetLabel(int index);

    /// <summary>
    /// Returns the binary ground-truth mask of image <paramref name="index"/> at its own resolution
    /// (row-major, true = defect), or an all-false mask of the image's size for a normal image;
    /// <see langword="null"/> when the source has no masks.
    /// </summary>
    /// <exception cref="InvalidDataException">The mask cannot be read or its size differs from its image.</exception>
    BinaryMask? ReadMask(int index);
}

/// <summary>A binary mask, row-major.</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Pixels">Row-major values, true where the pixel is a defect.</param>
public sealed record BinaryMask(int Width, int Height, bool[] Pixels)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Print(this, builder);
}
