namespace DivideAssemble;

/// <summary>The layout of a caller's 8-bit pixel buffer.</summary>
public enum PixelFormat
{
    /// <summary>One byte per pixel, grey.</summary>
    Gray8 = 0,

    /// <summary>Three bytes per pixel: red, green, blue.</summary>
    Rgb24 = 1,

    /// <summary>Three bytes per pixel: blue, green, red.</summary>
    Bgr24 = 2,

    /// <summary>Four bytes per pixel: red, green, blue, alpha.</summary>
    Rgba32 = 3,

    /// <summary>Four bytes per pixel: blue, green, red, alpha.</summary>
    Bgra32 = 4,
}

/// <summary>
/// An image as channel-major 32-bit floats in [-1, 1] (an 8-bit value v is v/127.5 − 1): grey (1
/// channel), RGB (3) or RGBA (4), any size. Scorers convert it to the model's channels and size
/// through <see cref="ImagePreprocessing"/>, the one pixel path of training and deployment.
/// </summary>
public sealed class FloatImage
{
    /// <summary>Wraps channel-major pixels (not copied).</summary>
    /// <param name="channels">1 (grey), 3 (RGB) or 4 (RGBA).</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="pixels">Channel-major values, <c>channels·height·width</c> of them.</param>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive or the channel count is not 1, 3 or 4.</exception>
    /// <exception cref="ArgumentException">The pixel array's length does not match the dimensions.</exception>
    public FloatImage(int channels, int height, int width, float[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (channels is not (1 or 3 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "An image has 1 (grey), 3 (RGB) or 4 (RGBA) channels.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (pixels.Length != (long)channels * height * width)
        {
            throw new ArgumentException($"A {channels}×{height}×{width} image has {(long)channels * height * width} values; the array holds {pixels.Length}.", nameof(pixels));
        }

        Channels = channels;
        Height = height;
        Width = width;
        Pixels = pixels;
    }

    /// <summary>Gets the number of channels: 1 (grey), 3 (RGB) or 4 (RGBA).</summary>
    public int Channels { get; }

    /// <summary>Gets the height in pixels.</summary>
    public int Height { get; }

    /// <summary>Gets the width in pixels.</summary>
    public int Width { get; }

    /// <summary>Gets the channel-major pixel values in [-1, 1].</summary>
    public float[] Pixels { get; }

    /// <summary>
    /// Converts an 8-bit pixel buffer (rows <paramref name="stride"/> bytes apart; 0 means packed):
    /// grey gives 1 channel, RGB/BGR 3, RGBA/BGRA 4.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive or the format is unknown.</exception>
    /// <exception cref="ArgumentException">The buffer is smaller than the size and stride need.</exception>
    public static FloatImage FromPixels(ReadOnlySpan<byte> pixels, int width, int height, PixelFormat format, int stride = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        int bpp = format switch
        {
            PixelFormat.Gray8 => 1,
            PixelFormat.Rgb24 or PixelFormat.Bgr24 => 3,
            PixelFormat.Rgba32 or PixelFormat.Bgra32 => 4,
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown pixel format."),
        };
        if (stride == 0)
        {
            stride = width * bpp;
        }

        long needed = ((long)stride * (height - 1)) + ((long)width * bpp);
        if (stride < width * bpp || pixels.Length < needed)
        {
            throw new ArgumentException($"A {width}×{height} {format} image with stride {stride} needs {needed} bytes; the buffer has {pixels.Length}.", nameof(pixels));
        }

        int channels = bpp == 1 ? 1 : bpp;
        int plane = width * height;
        var values = new float[channels * plane];
        bool bgr = format is PixelFormat.Bgr24 or PixelFormat.Bgra32;
        for (int y = 0; y < height; y++)
        {
            var row = pixels.Slice(y * stride, width * bpp);
            for (int x = 0; x < width; x++)
            {
                int p = (y * width) + x;
                for (int c = 0; c < channels; c++)
                {
                    int source = bgr && c < 3 ? 2 - c : c;
                    values[(c * plane) + p] = ImagePreprocessing.FromByte(row[(x * bpp) + source]);
                }
            }
        }

        return new FloatImage(channels, height, width, values);
    }
}
