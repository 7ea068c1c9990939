namespace DivideAssemble.Imaging;

/// <summary>
/// Image files decoded on demand (PNG, JPEG, BMP; grey, RGB or RGBA), optionally labelled and
/// with ground-truth masks. Thread-safe: batches are decoded in parallel.
/// </summary>
public sealed class FileImageSource : ILabeledImageSource
{
    private readonly string[] paths;
    private readonly int[] labels;
    private readonly string?[]? masks;
    private int? storedChannels;
    private int? storedSize;

    /// <summary>Creates a source over files.</summary>
    /// <param name="paths">Image files.</param>
    /// <param name="labels">Labels (0 normal, 1 anomalous), one per file; <see langword="null"/> means all normal.</param>
    /// <param name="maskPaths">Mask files, one per image (<see langword="null"/> entries for images without defects); <see langword="null"/> when there are no masks.</param>
    /// <exception cref="ArgumentException">The lists differ in length, or a label is not 0/1.</exception>
    public FileImageSource(IReadOnlyList<string> paths, IReadOnlyList<int>? labels = null, IReadOnlyList<string?>? maskPaths = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        this.paths = paths.ToArray();
        this.labels = labels?.ToArray() ?? new int[this.paths.Length];
        if (this.labels.Length != this.paths.Length)
        {
            throw new ArgumentException($"Got {this.labels.Length} labels for {this.paths.Length} images.", nameof(labels));
        }

        if (this.labels.Any(l => l is not (0 or 1)))
        {
            throw new ArgumentException("Labels must be 0 (normal) or 1 (anomalous).", nameof(labels));
        }

        if (maskPaths is not null && maskPaths.Count != this.paths.Length)
        {
            throw new ArgumentException($"Got {maskPaths.Count} mask entries for {this.paths.Length} images.", nameof(maskPaths));
        }

        masks = maskPaths?.ToArray();
    }

    /// <inheritdoc />
    public int Count => paths.Length;

    /// <inheritdoc />
    /// <remarks>Decodes the first image once: 1 when it is grey, 3 otherwise (null for an empty source or an unreadable first image).</remarks>
    public int? StoredChannels()
    {
        DecodeFirst();
        return storedChannels;
    }

    /// <inheritdoc />
    /// <remarks>Decodes the first image once: the larger of its sides (null for an empty source or an unreadable first image).</remarks>
    public int? StoredSize()
    {
        DecodeFirst();
        return storedSize;
    }

    /// <inheritdoc />
    public bool HasMasks => masks is not null;

    /// <summary>Gets the image files.</summary>
    public IReadOnlyList<string> Paths => paths;

    /// <inheritdoc />
    public string GetName(int index) => paths[index];

    /// <inheritdoc />
    public int GetLabel(int index) => labels[index];

    /// <inheritdoc />
    public void Read(int index, int channels, int size, Span<float> destination) =>
        ImagePreprocessing.ToModelInput(ImageDecoder.DecodeFloat(paths[index]), channels, size, destination);

    /// <inheritdoc />
    public BinaryMask? ReadMask(int index)
    {
        if (masks is null)
        {
            return null;
        }

        var (width, height) = ImageDecoder.ReadSize(paths[index]);
        string? maskPath = masks[index];
        if (maskPath is null)
        {
            if (labels[index] == 1)
            {
                throw new InvalidDataException($"Anomalous image '{paths[index]}' has no ground-truth mask.");
            }

            return new BinaryMask(width, height, new bool[width * height]);
        }

        if (!File.Exists(maskPath))
        {
            throw new FileNotFoundException($"Ground-truth mask '{maskPath}' of image '{paths[index]}' does not exist.", maskPath);
        }

        var mask = ImageDecoder.ReadMask(maskPath);
        if (mask.Width != width || mask.Height != height)
        {
            throw new InvalidDataException($"Mask '{maskPath}' is {mask.Width}×{mask.Height} but its image '{paths[index]}' is {width}×{height}.");
        }

        return mask;
    }

    /// <summary>
    /// Decodes every file once and returns a source without the unreadable ones, with the list of
    /// files left out and why (the opt-in alternative to failing on the first bad file).
    /// </summary>
    public (FileImageSource Source, IReadOnlyList<(string Path, string Reason)> Skipped) WithoutUnreadable()
    {
        var keep = new List<int>();
        var skipped = new List<(string, string)>();
        for (int i = 0; i < paths.Length; i++)
        {
            try
            {
                ImageDecoder.Decode(paths[i]);
                if (masks?[i] is { } m)
                {
                    ReadMask(i);
                    _ = m;
                }

                keep.Add(i);
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                skipped.Add((paths[i], ex.Message));
            }
        }

        var source = new FileImageSource(
            keep.Select(i => paths[i]).ToList(),
            keep.Select(i => labels[i]).ToList(),
            masks is null ? null : keep.Select(i => masks[i]).ToList());
        return (source, skipped);
    }

    private void DecodeFirst()
    {
        if (storedChannels is not null || paths.Length == 0)
        {
            return;
        }

        try
        {
            var first = ImageDecoder.Decode(paths[0]);
            storedSize = Math.Max(first.Width, first.Height);
            storedChannels = first.IsGrey ? 1 : 3;
        }
        catch (InvalidDataException)
        {
        }
    }
}
