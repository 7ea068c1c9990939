using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Data;

/// <summary>Batches of an <see cref="IImageSource"/> as tensors, decoded through the shared <see cref="ImageBatchReader"/>.</summary>
internal sealed class BatchReader
{
    private readonly ImageBatchReader reader;

    public BatchReader(IImageSource source, int channels, int size) => reader = new ImageBatchReader(source, channels, size);

    public int ImageLength => reader.ImageLength;

    /// <summary>Decodes the images at <paramref name="indices"/> into one float buffer.</summary>
    public float[] ReadFloats(IReadOnlyList<int> indices, float[]? buffer = null) => reader.Read(indices, buffer);

    /// <summary>Wraps a decoded buffer as a <c>[B, C, S, S]</c> tensor on <paramref name="device"/>.</summary>
    public Tensor ToTensor(float[] buffer, Device device)
    {
        var t = tensor(buffer, new long[] { buffer.Length / ImageLength, reader.Channels, reader.Size, reader.Size });
        return device.type == DeviceType.CPU ? t : t.to(device);
    }

    /// <summary>Enumerates batches as tensors on <paramref name="device"/>, each disposed when the enumeration moves on.</summary>
    public IEnumerable<Tensor> Tensors(IReadOnlyList<int> indices, int batchSize, Device device, CancellationToken cancellationToken = default)
    {
        foreach (var batch in reader.Batches(indices, batchSize, cancellationToken))
        {
            using var x = ToTensor(batch.Data, device);
            yield return x;
        }
    }

    /// <summary>Enumerates batches, decoding the next while the caller works on the current one.</summary>
    public IEnumerable<ImageBatch> Batches(IReadOnlyList<int> order, int batchSize, CancellationToken cancellationToken = default) =>
        reader.Batches(order, batchSize, cancellationToken);
}
