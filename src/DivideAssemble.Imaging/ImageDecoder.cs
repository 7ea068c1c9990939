using SkiaSharp;

namespace DivideAssemble.Imaging;

/// <summary>A decoded image: 8-bit RGBA pixels plus what the file held (grey, colour, alpha).</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Rgba">Row-major RGBA bytes (unpremultiplied).</param>
/// <param name="IsGrey">Whether the file was single-channel.</param>
public sealed record DecodedImage(int Width, int Height, byte[] Rgba, bool IsGrey);

/// <summary>Decodes PNG, JPEG and BMP files with SkiaSharp and converts them to model tensors' layout.</summary>
public static class ImageDecoder
{
    /// <summary>The largest image, in pixels, the decoder accepts (2^28, a 1 GiB RGBA buffer); larger headers are refused before any allocation.</summary>
    public const long MaxPixels = 1L << 28;

    private static readonly SKSamplingOptions Sampling = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    /// <summary>Decodes an image file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable image, or is truncated; the message names it.</exception>
    public static DecodedImage Decode(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Image file '{path}' does not exist.", path);
        }

        return Decode(File.ReadAllBytes(path), $"'{path}'");
    }

    /// <summary>Decodes an image from a stream.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a complete image.</exception>
    public static DecodedImage Decode(Stream stream, string name = "The image stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return Decode(buffer.ToArray(), name);
    }

    /// <summary>Decodes image bytes; <paramref name="name"/> appears in errors.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a complete PNG, JPEG or BMP image.</exception>
    public static DecodedImage Decode(byte[] bytes, string name)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0)
        {
            throw new InvalidDataException($"{name} is empty.");
        }

        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec is null)
        {
            throw new InvalidDataException($"{name} is not an image SkiaSharp can read (PNG, JPEG or BMP expected), or its header is corrupt.");
        }

        var source = codec.Info;
        if (source.Width <= 0 || source.Height <= 0)
        {
            throw new InvalidDataException($"{name} has an invalid size {source.Width}×{source.Height}.");
        }

        if ((long)source.Width * source.Height > MaxPixels)
        {
            throw new InvalidDataException($"{name} claims {source.Width}×{source.Height} pixels, more than the decoder's limit of {MaxPixels:N0} (a corrupt header, or an image far larger than a model input).");
        }

        var info = new SKImageInfo(source.Width, source.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new byte[info.BytesSize];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = pixels)
            {
                result = codec.GetPixels(info, (IntPtr)p);
            }
        }

        if (result != SKCodecResult.Success)
        {
            throw new InvalidDataException(result == SKCodecResult.IncompleteInput
                ? $"{name} is truncated: the codec reports incomplete input."
                : $"{name} could not be decoded: {result}.");
        }

        return new DecodedImage(source.Width, source.Height, pixels, source.ColorType == SKColorType.Gray8);
    }

    /// <summary>
    /// Converts a decoded image to <paramref name="channels"/>×<paramref name="size"/>×<paramref name="size"/>
    /// floats in [-1, 1] (channel-major): grey, RGB or RGBA to the requested channel count (luminance
    /// 0.299/0.587/0.114 for colour to grey; alpha dropped), then a bilinear (mipmapped) resize.
    /// </summary>
    public static void ToModelLayout(DecodedImage image, int channels, int size, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (destination.Length != channels * size * size)
        {
            throw new ArgumentException($"The destination holds {destination.Length} floats; {channels}×{size}×{size} are needed.", nameof(destination));
        }

        byte[] rgba = image.Rgba;
        if (image.Width != size || image.Height != size)
        {
            rgba = Resize(image.Rgba, image.Width, image.Height, size, size);
        }

        int plane = size * size;
        for (int p = 0; p < plane; p++)
        {
            byte r = rgba[4 * p], g = rgba[(4 * p) + 1], b = rgba[(4 * p) + 2], a = rgba[(4 * p) + 3];
            if (channels == 1)
            {
                float grey = image.IsGrey ? r : (0.299f * r) + (0.587f * g) + (0.114f * b);
                destination[p] = Scale(grey);
                continue;
            }

            destination[p] = Scale(r);
            destination[plane + p] = Scale(g);
            destination[(2 * plane) + p] = Scale(b);
            if (channels == 4)
            {
                destination[(3 * plane) + p] = Scale(a);
            }
        }
    }

    /// <summary>Reads a ground-truth mask: any pixel whose red, green or blue value exceeds 127 is a defect.</summary>
    /// <exception cref="InvalidDataException">The mask is not a readable image.</exception>
    public static BinaryMask ReadMask(string path)
    {
        var image = Decode(path);
        var pixels = new bool[image.Width * image.Height];
        for (int p = 0; p < pixels.Length; p++)
        {
            pixels[p] = image.Rgba[4 * p] > 127 || image.Rgba[(4 * p) + 1] > 127 || image.Rgba[(4 * p) + 2] > 127;
        }

        return new BinaryMask(image.Width, image.Height, pixels);
    }

    /// <summary>Reads only an image file's size from its header.</summary>
    /// <exception cref="InvalidDataException">The file is not a readable image.</exception>
    public static (int Width, int Height) ReadSize(string path)
    {
        using var codec = SKCodec.Create(path) ?? throw new InvalidDataException($"'{path}' is not an image SkiaSharp can read (PNG, JPEG or BMP expected).");
        return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>Resizes RGBA bytes with bilinear, mipmapped sampling.</summary>
    internal static byte[] Resize(byte[] rgba, int width, int height, int newWidth, int newHeight)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using var resized = bitmap.Resize(new SKImageInfo(newWidth, newHeight, SKColorType.Rgba8888, SKAlphaType.Unpremul), Sampling)
            ?? throw new InvalidOperationException("SkiaSharp could not resize the image.");
        return resized.Bytes;
    }

    private static float Scale(float v) => (v / 127.5f) - 1f;
}
