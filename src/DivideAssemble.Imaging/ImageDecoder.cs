using SkiaSharp;

namespace DivideAssemble.Imaging;

/// <summary>A decoded image: 8-bit RGBA pixels plus what the file held (grey, colour, alpha).</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Rgba">Row-major RGBA bytes (unpremultiplied).</param>
/// <param name="IsGrey">Whether the file was single-channel.</param>
public sealed record DecodedImage(int Width, int Height, byte[] Rgba, bool IsGrey)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Print(this, builder);

    /// <summary>
    /// Converts the pixels to the shared float layout (<see cref="FloatImage"/>, values v/127.5 − 1):
    /// one channel for a grey file, RGBA (alpha kept; models without alpha drop it) otherwise.
    /// </summary>
    public FloatImage ToFloatImage() => IsGrey
        ? FloatImage.FromPixels(GreyPlane(), Width, Height, PixelFormat.Gray8)
        : FloatImage.FromPixels(Rgba, Width, Height, PixelFormat.Rgba32);

    private byte[] GreyPlane()
    {
        var grey = new byte[Width * Height];
        for (int p = 0; p < grey.Length; p++)
        {
            grey[p] = Rgba[4 * p];
        }

        return grey;
    }
}

/// <summary>
/// Decodes PNG, JPEG and BMP files with SkiaSharp. Decoding is all SkiaSharp does for the model: the
/// conversion to the model's channels and size is <see cref="ImagePreprocessing"/>, shared by every backend.
/// </summary>
public static class ImageDecoder
{
    /// <summary>The largest image, in pixels, the decoder accepts (2^28, a 1 GiB RGBA buffer); larger headers are refused before any allocation.</summary>
    public const long MaxPixels = 1L << 28;

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
    public static DecodedImage Decode(Stream stream) => Decode(stream, "The image stream");

    /// <summary>Decodes an image from a stream; <paramref name="name"/> appears in errors.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a complete image.</exception>
    public static DecodedImage Decode(Stream stream, string name)
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

    /// <summary>Decodes an image file into the shared float layout.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable image, or is truncated; the message names it.</exception>
    public static FloatImage DecodeFloat(string path) => Decode(path).ToFloatImage();

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
}
