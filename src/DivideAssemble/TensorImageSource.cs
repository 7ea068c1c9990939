using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// An <see cref="IImageSource"/> over an in-memory tensor <c>[N, C, H, W]</c> of values in [-1, 1]
/// (C = 1, 3 or 4). Images are converted to a model's channels and size through
/// <see cref="ImagePreprocessing"/>, exactly as image files are.
/// </summary>
public sealed class TensorImageSource : ILabeledImageSource
{
    private readonly float[] pixels;
    private readonly int count;
    private readonly int channels;
    private readonly int height;
    private readonly int width;
    private readonly int[]? labels;

    /// <summary>Copies <paramref name="images"/> (to managed memory) with optional labels.</summary>
    /// <param name="images">Images <c>[N, C, H, W]</c>, values in [-1, 1], C = 1, 3 or 4.</param>
    /// <param name="labels">Optional labels (0 normal, 1 anomalous), one per image.</param>
    /// <exception cref="ArgumentException">The tensor is not 4-D, has another channel count, holds values outside [-1, 1] (the message says how to scale them), or the labels do not match it.</exception>
    public TensorImageSource(Tensor images, IReadOnlyList<int>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] is not (1 or 3 or 4))
        {
            throw new ArgumentException($"Expected images of shape [N, C, H, W] with C = 1, 3 or 4, got [{string.Join(", ", images.shape)}].", nameof(images));
        }

        if (labels is not null && labels.Count != images.shape[0])
        {
            throw new ArgumentException($"Got {labels.Count} labels for {images.shape[0]} images.", nameof(labels));
        }

        if (labels is not null && labels.Any(l => l is not (0 or 1)))
        {
            throw new ArgumentException("Labels must be 0 (normal) or 1 (anomalous).", nameof(labels));
        }

        count = (int)images.shape[0];
        channels = (int)images.shape[1];
        height = (int)images.shape[2];
        width = (int)images.shape[3];
        using (var cpu = images.detach().to(float32).cpu().contiguous())
        {
            pixels = count == 0 ? Array.Empty<float>() : cpu.data<float>().ToArray();
        }

        ModelInput.ThrowIfOutOfRange(ModelInput.Ranges(pixels, count), nameof(images));
        this.labels = labels?.ToArray();
    }

    /// <inheritdoc />
    public int Count => count;

    /// <inheritdoc />
    public bool HasMasks => false;

    /// <inheritdoc />
    public int? StoredChannels() => Math.Min(channels, 3);

    /// <inheritdoc />
    public int? StoredSize() => Math.Max(height, width);

    /// <inheritdoc />
    public string GetName(int index) => $"#{index}";

    /// <inheritdoc />
    public int GetLabel(int index) => labels?[index] ?? 0;

    /// <inheritdoc />
    public BinaryMask? ReadMask(int index) => null;

    /// <summary>Returns image <paramref name="index"/> as it is held (its own channels and size).</summary>
    public FloatImage GetImage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, count);
        int length = channels * height * width;
        return new FloatImage(channels, height, width, pixels.AsSpan(index * length, length).ToArray());
    }

    /// <inheritdoc />
    public void Read(int index, int channels, int size, Span<float> destination) =>
        ImagePreprocessing.ToModelInput(GetImage(index), channels, size, destination);
}
