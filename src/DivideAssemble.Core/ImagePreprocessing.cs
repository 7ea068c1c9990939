namespace DivideAssemble;

/// <summary>
/// The one pixel path from an image to a model's input, shared by training, scoring, evaluation,
/// pictures and every backend (TorchSharp and ONNX Runtime), so that a deployment sees exactly the
/// pixels training saw. Written out so that a runtime outside .NET can reproduce it:
/// <list type="number">
/// <item>8-bit values become floats <c>v / 127.5 − 1</c> (<see cref="FromByte"/>).</item>
/// <item>Channels are converted first: RGB(A) to grey by the ITU-R BT.601 luma weights
/// <c>0.299·R + 0.587·G + 0.114·B</c> on the float values; grey to RGB by copying; alpha is dropped
/// (or set to 1 when a 4-channel model needs it).</item>
/// <item>Each channel plane is then resized to S×S by an antialiased bilinear (triangle) filter with
/// half-pixel centres: output pixel i samples around <c>(i + 0.5)·scale</c> with weights
/// <c>max(0, 1 − |d| / max(scale, 1))</c>, normalised to sum to 1, where scale = input size / output size.
/// Downscaling therefore averages over the whole footprint (no aliasing); upscaling is plain bilinear.
/// This is PIL's <c>Image.resize(size, BILINEAR)</c> and PyTorch's
/// <c>F.interpolate(x, size, mode="bilinear", antialias=True, align_corners=False)</c> on float input
/// (tested against the latter to 1e-5).</item>
/// </list>
/// Non-square images are stretched to the square model size, as in training.
/// </summary>
public static class ImagePreprocessing
{
    /// <summary>The name of the resize filter, as recorded in model metadata.</summary>
    public const string ResizeFilter = "bilinear-antialias-half-pixel";

    /// <summary>The name of the grey conversion, as recorded in model metadata.</summary>
    public const string GreyConversion = "bt601-luma-0.299-0.587-0.114";

    /// <summary>The luma weight of red.</summary>
    public const float LumaRed = 0.299f;

    /// <summary>The luma weight of green.</summary>
    public const float LumaGreen = 0.587f;

    /// <summary>The luma weight of blue.</summary>
    public const float LumaBlue = 0.114f;

    /// <summary>Maps an 8-bit value to the model's range: <c>v / 127.5 − 1</c>.</summary>
    public static float FromByte(byte value) => (value / 127.5f) - 1f;

    /// <summary>Maps a model value back to 8 bits (rounded, clamped).</summary>
    public static byte ToByte(float value) => (byte)Math.Clamp(MathF.Round((value + 1f) * 127.5f), 0f, 255f);

    /// <summary>
    /// Converts <paramref name="image"/> to <paramref name="channels"/>×<paramref name="size"/>×<paramref name="size"/>
    /// channel-major floats in <paramref name="destination"/>: channels first, then the resize.
    /// </summary>
    /// <exception cref="ArgumentException">The destination's length is not <c>channels·size·size</c>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The channel count is not 1, 3 or 4, or the size is not positive.</exception>
    public static void ToModelInput(FloatImage image, int channels, int size, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (channels is not (1 or 3 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "A model takes 1, 3 or 4 channels.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        int plane = size * size;
        if (destination.Length != channels * plane)
        {
            throw new ArgumentException($"The destination holds {destination.Length} floats; {channels}×{size}×{size} are needed.", nameof(destination));
        }

        var converted = ConvertChannels(image, channels);
        if (converted.Width == size && converted.Height == size)
        {
            converted.Pixels.AsSpan().CopyTo(destination);
            return;
        }

        var coefficientsX = Coefficients.For(converted.Width, size);
        var coefficientsY = Coefficients.For(converted.Height, size);
        int sourcePlane = converted.Width * converted.Height;
        var rows = new float[converted.Height * size];
        for (int c = 0; c < channels; c++)
        {
            Resize(converted.Pixels.AsSpan(c * sourcePlane, sourcePlane), converted.Width, converted.Height, coefficientsX, coefficientsY, rows, destination.Slice(c * plane, plane));
        }
    }

    /// <summary>Returns <paramref name="image"/> converted to the model's channels and size (the same image when nothing changes).</summary>
    public static FloatImage ToModelInput(FloatImage image, int channels, int size)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels == channels && image.Width == size && image.Height == size)
        {
            return image;
        }

        var values = new float[channels * size * size];
        ToModelInput(image, channels, size, values);
        return new FloatImage(channels, size, size, values);
    }

    /// <summary>Converts the channels of <paramref name="image"/>: grey ↔ RGB (luma weights), alpha dropped or set to 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The channel count is not 1, 3 or 4.</exception>
    public static FloatImage ConvertChannels(FloatImage image, int channels)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (channels is not (1 or 3 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "A model takes 1, 3 or 4 channels.");
        }

        if (image.Channels == channels)
        {
            return image;
        }

        int plane = image.Width * image.Height;
        var source = image.Pixels;
        var result = new float[channels * plane];
        if (channels == 1)
        {
            for (int p = 0; p < plane; p++)
            {
                result[p] = (LumaRed * source[p]) + (LumaGreen * source[plane + p]) + (LumaBlue * source[(2 * plane) + p]);
            }
        }
        else
        {
            for (int c = 0; c < 3; c++)
            {
                source.AsSpan(image.Channels == 1 ? 0 : c * plane, plane).CopyTo(result.AsSpan(c * plane, plane));
            }

            if (channels == 4)
            {
                result.AsSpan(3 * plane, plane).Fill(1f);
            }
        }

        return new FloatImage(channels, image.Height, image.Width, result);
    }

    /// <summary>Resizes one plane (row-major, <paramref name="width"/>×<paramref name="height"/>) with the antialiased bilinear filter.</summary>
    /// <exception cref="ArgumentException">The plane's length does not match its size.</exception>
    public static float[] Resize(ReadOnlySpan<float> plane, int width, int height, int newWidth, int newHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(newWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(newHeight, 1);
        if (plane.Length != width * height)
        {
            throw new ArgumentException($"A {width}×{height} plane has {width * height} values; got {plane.Length}.", nameof(plane));
        }

        var result = new float[newWidth * newHeight];
        if (width == newWidth && height == newHeight)
        {
            plane.CopyTo(result);
            return result;
        }

        Resize(plane, width, height, Coefficients.For(width, newWidth), Coefficients.For(height, newHeight), new float[height * newWidth], result);
        return result;
    }

    private static void Resize(ReadOnlySpan<float> source, int width, int height, Coefficients cx, Coefficients cy, float[] rows, Span<float> destination)
    {
        int newWidth = cx.OutputSize, newHeight = cy.OutputSize;

        // Horizontal pass: every source row to newWidth columns.
        for (int y = 0; y < height; y++)
        {
            var row = source.Slice(y * width, width);
            for (int x = 0; x < newWidth; x++)
            {
                int start = cx.Start[x];
                var weights = cx.Weights(x);
                double sum = 0;
                for (int k = 0; k < weights.Length; k++)
                {
                    sum += weights[k] * row[start + k];
                }

                rows[(y * newWidth) + x] = (float)sum;
            }
        }

        // Vertical pass.
        for (int y = 0; y < newHeight; y++)
        {
            int start = cy.Start[y];
            var weights = cy.Weights(y);
            for (int x = 0; x < newWidth; x++)
            {
                double sum = 0;
                for (int k = 0; k < weights.Length; k++)
                {
                    sum += weights[k] * rows[((start + k) * newWidth) + x];
                }

                destination[(y * newWidth) + x] = (float)sum;
            }
        }
    }

    /// <summary>The taps of one axis: for each output index, the first input index and the normalised triangle weights.</summary>
    private sealed class Coefficients
    {
        private readonly double[] weights;
        private readonly int[] counts;
        private readonly int stride;

        private Coefficients(int inputSize, int outputSize)
        {
            OutputSize = outputSize;
            double scale = (double)inputSize / outputSize;
            double filterScale = Math.Max(scale, 1.0);
            double support = filterScale; // the triangle's radius is 1 input pixel, widened by the downscale factor
            stride = ((int)Math.Ceiling(support) * 2) + 1;
            weights = new double[outputSize * stride];
            counts = new int[outputSize];
            Start = new int[outputSize];
            for (int i = 0; i < outputSize; i++)
            {
                double center = (i + 0.5) * scale;
                int min = Math.Max(0, (int)(center - support + 0.5));
                int max = Math.Min(inputSize, (int)(center + support + 0.5));
                double total = 0;
                for (int j = min; j < max; j++)
                {
                    double w = Math.Max(0, 1 - Math.Abs((j - center + 0.5) / filterScale));
                    weights[(i * stride) + j - min] = w;
                    total += w;
                }

                for (int j = 0; j < max - min; j++)
                {
                    weights[(i * stride) + j] = total > 0 ? weights[(i * stride) + j] / total : 0;
                }

                Start[i] = min;
                counts[i] = max - min;
            }
        }

        public int OutputSize { get; }

        public int[] Start { get; }

        public static Coefficients For(int inputSize, int outputSize) => new(inputSize, outputSize);

        public ReadOnlySpan<double> Weights(int output) => weights.AsSpan(output * stride, counts[output]);
    }
}
