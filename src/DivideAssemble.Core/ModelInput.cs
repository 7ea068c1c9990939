namespace DivideAssemble;

/// <summary>
/// The one way every backend turns images into model input and checks it: images of any size and channel
/// count through <see cref="ImagePreprocessing"/>, a source in batches, and the refusal of non-finite
/// pixels naming the image.
/// </summary>
internal static class ModelInput
{
    /// <summary>Stacks images (any size and channels) into model-ready floats <c>[B·C·S·S]</c>.</summary>
    /// <exception cref="ArgumentException">The list is empty or holds a null image.</exception>
    public static float[] FromImages(IReadOnlyList<FloatImage> images, int channels, int size)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
        {
            throw new ArgumentException("There are no images to score.", nameof(images));
        }

        int length = channels * size * size;
        var data = new float[images.Count * length];
        for (int i = 0; i < images.Count; i++)
        {
            ImagePreprocessing.ToModelInput(images[i] ?? throw new ArgumentException($"Image {i} is null.", nameof(images)), channels, size, data.AsSpan(i * length, length));
        }

        return data;
    }

    /// <summary>
    /// Scores every image of <paramref name="source"/> in batches of <paramref name="batchSize"/> through
    /// <paramref name="score"/> (given each batch's floats and image count); results in source order.
    /// </summary>
    /// <exception cref="InvalidDataException">An image cannot be read; the message names it.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled (checked between batches).</exception>
    public static IReadOnlyList<AnomalyResult> ScoreAll(
        IImageSource source, int channels, int size, int batchSize, Func<float[], int, IReadOnlyList<AnomalyResult>> score, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var reader = new ImageBatchReader(source, channels, size);
        var results = new List<AnomalyResult>(source.Count);
        foreach (var batch in reader.Batches(Enumerable.Range(0, source.Count).ToArray(), Math.Max(1, batchSize), cancellationToken))
        {
            results.AddRange(score(batch.Data, batch.Indices.Count));
        }

        return results;
    }

    /// <summary>How far outside [-1, 1] a value may lie before an image is refused (resampling overshoots by a little).</summary>
    public const float RangeTolerance = 0.01f;

    /// <summary>Per image of a batch of <paramref name="count"/> images, its smallest and largest value.</summary>
    public static (float Min, float Max)[] Ranges(ReadOnlySpan<float> data, int count)
    {
        int length = data.Length / Math.Max(1, count);
        var ranges = new (float, float)[count];
        for (int i = 0; i < count; i++)
        {
            var image = data.Slice(i * length, length);
            float min = float.PositiveInfinity, max = float.NegativeInfinity;
            foreach (float v in image)
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }

            ranges[i] = (min, max);
        }

        return ranges;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first image with values outside [-1, 1] (beyond <see cref="RangeTolerance"/>) and saying how to scale it.</summary>
    /// <exception cref="ArgumentException">An image holds values outside [-1, 1].</exception>
    public static void ThrowIfOutOfRange(ReadOnlySpan<(float Min, float Max)> ranges, string parameter)
    {
        for (int i = 0; i < ranges.Length; i++)
        {
            var (min, max) = ranges[i];
            if (min < -1 - RangeTolerance || max > 1 + RangeTolerance)
            {
                throw new ArgumentException(
                    string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Image {i} of the batch (of {ranges.Length}) holds values from {min:G4} to {max:G4}; the model takes images scaled to [-1, 1]: divide 8-bit pixels by 127.5 and subtract 1, or score FloatImages or files, which are converted."),
                    parameter);
            }
        }
    }

    /// <summary>Per image of a batch of <paramref name="count"/> images, whether every value is finite.</summary>
    public static bool[] FiniteImages(ReadOnlySpan<float> data, int count)
    {
        int length = data.Length / Math.Max(1, count);
        var finite = new bool[count];
        for (int i = 0; i < count; i++)
        {
            finite[i] = true;
            foreach (float v in data.Slice(i * length, length))
            {
                if (!float.IsFinite(v))
                {
                    finite[i] = false;
                    break;
                }
            }
        }

        return finite;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first image whose flag in <paramref name="finite"/> is false.</summary>
    /// <exception cref="ArgumentException">An image holds NaN or infinite values.</exception>
    public static void ThrowIfNotFinite(ReadOnlySpan<bool> finite, string parameter)
    {
        int bad = finite.IndexOf(false);
        if (bad >= 0)
        {
            throw new ArgumentException($"Image {bad} of the batch (of {finite.Length}) holds NaN or infinite values; scores would be meaningless.", parameter);
        }
    }
}
