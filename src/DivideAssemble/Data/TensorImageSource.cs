using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>An <see cref="IImageSource"/> over an in-memory tensor <c>[N, C, H, W]</c> of values in [-1, 1].</summary>
public sealed class TensorImageSource : ILabeledImageSource, IDisposable
{
    private readonly Tensor images;
    private readonly int[]? labels;
    private readonly object gate = new();

    /// <summary>Wraps <paramref name="images"/> (copied to the CPU, detached) with optional labels.</summary>
    /// <param name="images">Images <c>[N, C, H, W]</c>, values in [-1, 1].</param>
    /// <param name="labels">Optional labels (0 normal, 1 anomalous), one per image.</param>
    /// <exception cref="ArgumentException">The tensor is not 4-D or the labels do not match it.</exception>
    public TensorImageSource(Tensor images, IReadOnlyList<int>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4)
        {
            throw new ArgumentException($"Expected images of shape [N, C, H, W], got [{string.Join(", ", images.shape)}].", nameof(images));
        }

        if (labels is not null && labels.Count != images.shape[0])
        {
            throw new ArgumentException($"Got {labels.Count} labels for {images.shape[0]} images.", nameof(labels));
        }

        if (labels is not null && labels.Any(l => l is not (0 or 1)))
        {
            throw new ArgumentException("Labels must be 0 (normal) or 1 (anomalous).", nameof(labels));
        }

        this.images = images.detach().to(float32).cpu().contiguous().clone();
        this.labels = labels?.ToArray();
    }

    /// <inheritdoc />
    public int Count => (int)images.shape[0];

    /// <inheritdoc />
    public bool HasMasks => false;

    /// <inheritdoc />
    public string GetName(int index) => $"#{index}";

    /// <inheritdoc />
    public int GetLabel(int index) => labels?[index] ?? 0;

    /// <inheritdoc />
    public BinaryMask? ReadMask(int index) => null;

    /// <inheritdoc />
    public void Read(int index, int channels, int size, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        lock (gate)
        {
            using var scope = NewDisposeScope();
            var x = images[index].unsqueeze(0);
            x = ImageTensors.ConvertChannels(x, channels);
            if (x.shape[2] != size || x.shape[3] != size)
            {
                x = nn.functional.interpolate(x, new long[] { size, size }, mode: InterpolationMode.Bilinear, align_corners: false);
            }

            var values = x.contiguous().data<float>().ToArray();
            if (destination.Length != values.Length)
            {
                throw new ArgumentException($"The destination holds {destination.Length} floats, the image {values.Length}.", nameof(destination));
            }

            values.AsSpan().CopyTo(destination);
        }
    }

    /// <inheritdoc />
    public void Dispose() => images.Dispose();
}

/// <summary>Tensor helpers for images.</summary>
internal static class ImageTensors
{
    /// <summary>Converts <c>[B, C, H, W]</c> to the requested channel count (grey ↔ RGB; alpha dropped).</summary>
    public static Tensor ConvertChannels(Tensor x, int channels)
    {
        long c = x.shape[1];
        if (c == channels)
        {
            return x;
        }

        if (c == 4)
        {
            x = x.narrow(1, 0, 3);
            c = 3;
        }

        if (c == 3 && channels == 1)
        {
            var w = tensor(new float[] { 0.299f, 0.587f, 0.114f }).reshape(1, 3, 1, 1);
            return (x * w).sum(1, keepdim: true);
        }

        if (c == 1 && channels >= 3)
        {
            var rgb = x.expand(-1, 3, -1, -1);
            return channels == 3 ? rgb : cat(new[] { rgb, ones_like(x) }, 1);
        }

        if (c == 3 && channels == 4)
        {
            return cat(new[] { x, ones_like(x.narrow(1, 0, 1)) }, 1);
        }

        throw new ArgumentException($"Cannot convert {c} channels to {channels}.");
    }
}
