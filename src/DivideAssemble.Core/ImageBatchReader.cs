using System.Runtime.ExceptionServices;

namespace DivideAssemble;

/// <summary>
/// Reads an <see cref="IImageSource"/> in batches of model-ready floats: images are decoded in
/// parallel, and the next batch is decoded on the thread pool while the caller works on the current one.
/// </summary>
internal sealed class ImageBatchReader
{
    private readonly IImageSource source;

    /// <summary>Creates a reader that converts every image to <paramref name="channels"/>×<paramref name="size"/>×<paramref name="size"/>.</summary>
    public ImageBatchReader(IImageSource source, int channels, int size)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        this.source = source;
        Channels = channels;
        Size = size;
    }

    /// <summary>Gets the channels of every image read.</summary>
    public int Channels { get; }

    /// <summary>Gets the side of every image read.</summary>
    public int Size { get; }

    /// <summary>Gets the number of floats of one image (<c>C·S·S</c>).</summary>
    public int ImageLength => Channels * Size * Size;

    /// <summary>Decodes the images at <paramref name="indices"/> into one buffer (in parallel), reusing <paramref name="buffer"/> when its length fits.</summary>
    /// <exception cref="InvalidDataException">An image cannot be read; the source's message names it.</exception>
    public float[] Read(IReadOnlyList<int> indices, float[]? buffer = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int length = ImageLength;
        if (buffer is null || buffer.Length != indices.Count * length)
        {
            buffer = new float[indices.Count * length];
        }

        try
        {
            Parallel.For(0, indices.Count, i => source.Read(indices[i], Channels, Size, buffer.AsSpan(i * length, length)));
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count >= 1)
        {
            ExceptionDispatchInfo.Capture(ex.InnerExceptions[0]).Throw();
        }

        return buffer;
    }

    /// <summary>
    /// Enumerates <paramref name="order"/> in batches of <paramref name="batchSize"/>. Three buffers
    /// rotate, so a batch's <see cref="ImageBatch.Data"/> stays valid until the enumeration has moved
    /// two batches on; copy it (<see cref="ImageBatch.ToImages"/>) to keep it longer.
    /// </summary>
    public IEnumerable<ImageBatch> Batches(IReadOnlyList<int> order, int batchSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return Enumerate(order, batchSize, cancellationToken);
    }

    private IEnumerable<ImageBatch> Enumerate(IReadOnlyList<int> order, int batchSize, CancellationToken cancellationToken)
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

        var buffers = new float[3][];
        var next = Task.Run(() => Read(batches[0]), cancellationToken);
        for (int b = 0; b < batches.Count; b++)
        {
            float[] data = next.GetAwaiter().GetResult();
            buffers[b % 3] = data;
            if (b + 1 < batches.Count)
            {
                var indices = batches[b + 1];
                var reuse = buffers[(b + 1) % 3];
                next = Task.Run(() => Read(indices, reuse), cancellationToken);
            }

            cancellationToken.ThrowIfCancellationRequested();
            yield return new ImageBatch(batches[b], data, Channels, Size);
        }
    }
}

/// <summary>One batch of <see cref="ImageBatchReader"/>: the source indices and their pixels, image after image.</summary>
/// <param name="Indices">The indices of the images in the source.</param>
/// <param name="Data">Channel-major floats of every image, one after the other (a reused buffer).</param>
/// <param name="Channels">The channels of each image.</param>
/// <param name="Size">The side of each image.</param>
internal readonly record struct ImageBatch(IReadOnlyList<int> Indices, float[] Data, int Channels, int Size)
{
    /// <summary>Copies the batch into one <see cref="FloatImage"/> per image.</summary>
    public IReadOnlyList<FloatImage> ToImages()
    {
        int length = Channels * Size * Size;
        var images = new FloatImage[Indices.Count];
        for (int i = 0; i < images.Length; i++)
        {
            images[i] = new FloatImage(Channels, Size, Size, Data.AsSpan(i * length, length).ToArray());
        }

        return images;
    }
}

/// <summary>Helpers over image sources.</summary>
public static class ImageSources
{
    /// <summary>Returns a view of the images of <paramref name="source"/> at <paramref name="indices"/>, in that order.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside the source.</exception>
    public static IImageSource Subset(IImageSource source, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(indices);
        foreach (int i in indices)
        {
            if ((uint)i >= (uint)source.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), i, $"The source holds {source.Count} images.");
            }
        }

        return new SubsetSource(source, indices.ToArray());
    }

    /// <summary>Returns a source over in-memory images (read through <see cref="ImagePreprocessing"/> at any model size).</summary>
    public static IImageSource FromImages(IReadOnlyList<FloatImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        return new ImageListSource(images.ToArray());
    }

    private sealed class SubsetSource : IImageSource
    {
        private readonly IImageSource source;
        private readonly int[] indices;

        public SubsetSource(IImageSource source, int[] indices)
        {
            this.source = source;
            this.indices = indices;
        }

        public int Count => indices.Length;

        public string GetName(int index) => source.GetName(indices[index]);

        public void Read(int index, int channels, int size, Span<float> destination) => source.Read(indices[index], channels, size, destination);

        public int? StoredChannels() => source.StoredChannels();

        public int? StoredSize() => source.StoredSize();
    }

    private sealed class ImageListSource : IImageSource
    {
        private readonly FloatImage[] images;

        public ImageListSource(FloatImage[] images) => this.images = images;

        public int Count => images.Length;

        public string GetName(int index) => $"#{index}";

        public void Read(int index, int channels, int size, Span<float> destination) =>
            ImagePreprocessing.ToModelInput(images[index], channels, size, destination);

        public int? StoredChannels() => images.Length == 0 ? null : Math.Min(images[0].Channels, 3);

        public int? StoredSize() => images.Length == 0 ? null : Math.Max(images[0].Width, images[0].Height);
    }
}
