using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>Decodes batches of an <see cref="IImageSource"/> in parallel, one batch ahead of the consumer.</summary>
internal sealed class BatchReader
{
    private readonly IImageSource source;
    private readonly int channels;
    private readonly int size;

    public BatchReader(IImageSource source, int channels, int size)
    {
        this.source = source;
        this.channels = channels;
        this.size = size;
    }

    public int ImageLength => channels * size * size;

    /// <summary>Decodes the images at <paramref name="indices"/> into one float buffer (parallel over images).</summary>
    public float[] ReadFloats(IReadOnlyList<int> indices)
    {
        int length = ImageLength;
        var buffer = new float[indices.Count * length];
        Parallel.For(0, indices.Count, i => source.Read(indices[i], channels, size, buffer.AsSpan(i * length, length)));
        return buffer;
    }

    /// <summary>Wraps a decoded buffer as a <c>[B, C, S, S]</c> tensor on <paramref name="device"/>.</summary>
    public Tensor ToTensor(float[] buffer, Device device)
    {
        var t = tensor(buffer, new long[] { buffer.Length / ImageLength, channels, size, size });
        return device.type == DeviceType.CPU ? t : t.to(device);
    }

    /// <summary>Enumerates batches, decoding the next batch on the thread pool while the caller works on the current one.</summary>
    public IEnumerable<(IReadOnlyList<int> Indices, float[] Data)> Batches(IReadOnlyList<int> order, int batchSize, CancellationToken cancellationToken = default)
    {
        var batches = new List<int[]>();
        for (int start = 0; start < order.Count; start += batchSize)
        {
            batches.Add(order.Skip(start).Take(batchSize).ToArray());
        }

        if (batches.Count == 0)
        {
            yield break;
        }

        var next = Task.Run(() => ReadFloats(batches[0]), cancellationToken);
        for (int b = 0; b < batches.Count; b++)
        {
            float[] data;
            try
            {
                data = next.GetAwaiter().GetResult();
            }
            catch (AggregateException ex) when (ex.InnerExceptions.Count == 1)
            {
                throw ex.InnerExceptions[0];
            }

            if (b + 1 < batches.Count)
            {
                var indices = batches[b + 1];
                next = Task.Run(() => ReadFloats(indices), cancellationToken);
            }

            yield return (batches[b], data);
        }
    }
}
