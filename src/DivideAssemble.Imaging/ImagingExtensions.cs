using static TorchSharp.torch;

namespace DivideAssemble.Imaging;

/// <summary>The layout of a caller's pixel buffer.</summary>
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

/// <summary>Scoring of image files, streams and pixel buffers.</summary>
public static class ImagingExtensions
{
    /// <summary>Decodes an image file (resized to the model size, converted to its channels) and scores it.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a complete image.</exception>
    public static AnomalyResult Score(this IAnomalyDetector detector, string path)
    {
        ArgumentNullException.ThrowIfNull(detector);
        return ScoreDecoded(detector, ImageDecoder.Decode(path));
    }

    /// <summary>Decodes an image from a stream and scores it.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a complete image.</exception>
    public static AnomalyResult Score(this IAnomalyDetector detector, Stream image)
    {
        ArgumentNullException.ThrowIfNull(detector);
        return ScoreDecoded(detector, ImageDecoder.Decode(image));
    }

    /// <summary>Scores an image given as a pixel buffer (rows packed, <paramref name="stride"/> bytes apart; 0 means packed).</summary>
    /// <exception cref="ArgumentException">The buffer is smaller than the given size needs.</exception>
    public static AnomalyResult Score(this IAnomalyDetector detector, ReadOnlySpan<byte> pixels, int width, int height, PixelFormat format, int stride = 0)
    {
        ArgumentNullException.ThrowIfNull(detector);
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

        if (stride < width * bpp || pixels.Length < ((long)stride * (height - 1)) + (width * bpp))
        {
            throw new ArgumentException($"A {width}×{height} {format} image with stride {stride} needs {((long)stride * (height - 1)) + (width * bpp)} bytes; the buffer has {pixels.Length}.", nameof(pixels));
        }

        var rgba = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int s = (y * stride) + (x * bpp), d = 4 * ((y * width) + x);
                (byte r, byte g, byte b, byte a) = format switch
                {
                    PixelFormat.Gray8 => (pixels[s], pixels[s], pixels[s], (byte)255),
                    PixelFormat.Rgb24 => (pixels[s], pixels[s + 1], pixels[s + 2], (byte)255),
                    PixelFormat.Bgr24 => (pixels[s + 2], pixels[s + 1], pixels[s], (byte)255),
                    PixelFormat.Rgba32 => (pixels[s], pixels[s + 1], pixels[s + 2], pixels[s + 3]),
                    _ => (pixels[s + 2], pixels[s + 1], pixels[s], pixels[s + 3]),
                };
                rgba[d] = r;
                rgba[d + 1] = g;
                rgba[d + 2] = b;
                rgba[d + 3] = a;
            }
        }

        return ScoreDecoded(detector, new DecodedImage(width, height, rgba, format == PixelFormat.Gray8));
    }

    /// <summary>Converts a decoded image to the model's layout as a <c>[1, C, S, S]</c> tensor.</summary>
    public static Tensor ToTensor(DecodedImage image, int channels, int size)
    {
        var buffer = new float[channels * size * size];
        ImageDecoder.ToModelLayout(image, channels, size, buffer);
        return tensor(buffer, new long[] { 1, channels, size, size });
    }

    private static AnomalyResult ScoreDecoded(IAnomalyDetector detector, DecodedImage image)
    {
        using var scope = NewDisposeScope();
        return detector.Score(ToTensor(image, detector.Channels, detector.ImageSize))[0];
    }
}
