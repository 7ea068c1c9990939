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
    public float[] ReadFloats(IReadOnlyList<int> indices, float[]? buffer = null)
    {
        int length = ImageLength;
        if (buffer is null || buffer.Length != indices.Count * length)
        {
            buffer = new float[indices.Count * length];
        }

        try
        {
            Parallel.For(0, indices.Count, i => source.Read(indices[i], channels, size, buffer.AsSpan(i * length, length)));
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count >= 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
        }

        return buffer;
    }

    /// <summary>Wraps a decoded buffer as a <c>[B, C, S, S]</c> tensor on <paramref name="device"/>.</summary>
    public Tensor ToTensor(float[] buffer, Device device)
    {
        var t = tensor(buffer, new long[] { buffer.Length / ImageLength, channels, size, size });
        return device.type == DeviceType.CPU ? t : t.to(device);
    }

    /// <summary>Enumerates batches as tensors on <paramref name="device"/>, each disposed when the enumeration moves on.</summary>
    public IEnumerable<Tensor> Tensors(IReadOnlyList<int> indices, int batchSize, Device device)
    {
        foreach (var (_, data) in Batches(indices, batchSize))
        {
            using var x = ToTensor(data, device);
            yield return x;
        }
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

        // Three rotating buffers: the batch being used, the one being decoded, and a spare. Reusing
        // them keeps large allocations (and so garbage collections) out of the training loop.
        var buffers = new float[3][];
        var next = Task.Run(() => ReadFloats(batches[0]), cancellationToken);
        for (int b = 0; b < batches.Count; b++)
        {
            float[] data = next.GetAwaiter().GetResult();
            buffers[b % 3] = data;
            if (b + 1 < batches.Count)
            {
                var indices = batches[b + 1];
                var reuse = buffers[(b + 1) % 3];
                next = Task.Run(() => ReadFloats(indices, reuse), cancellationToken);
            }

            yield return (batches[b], data);
        }
    }
}
