using System.IO.Compression;

namespace DivideAssemble.Imaging;

/// <summary>Images held as raw 8-bit pixels (IDX and CIFAR files), converted on demand.</summary>
internal sealed class RawImages
{
    public RawImages(byte[] pixels, byte[] labels, int width, int height, int channels, bool planar, string origin)
    {
        Pixels = pixels;
        Labels = labels;
        Width = width;
        Height = height;
        Channels = channels;
        Planar = planar;
        Origin = origin;
    }

    public byte[] Pixels { get; }

    public byte[] Labels { get; }

    public int Width { get; }

    public int Height { get; }

    public int Channels { get; }

    public bool Planar { get; }

    public string Origin { get; }

    public int Count => Labels.Length;

    public RawSubset Subset(int[] indices, int normalClass) => new(this, indices, normalClass);

    /// <summary>Returns image <paramref name="index"/> in the shared float layout (grey: 1 channel, colour: 3).</summary>
    public FloatImage Image(int index)
    {
        int plane = Width * Height;
        int offset = index * plane * Channels;
        var values = new float[Channels * plane];
        for (int c = 0; c < Channels; c++)
        {
            for (int p = 0; p < plane; p++)
            {
                byte v = Channels == 1 || Planar ? Pixels[offset + (c * plane) + p] : Pixels[offset + (3 * p) + c];
                values[(c * plane) + p] = ImagePreprocessing.FromByte(v);
            }
        }

        return new FloatImage(Channels, Height, Width, values);
    }
}

/// <summary>A labelled view of raw images: label 0 for the normal class, 1 for every other class.</summary>
internal sealed class RawSubset : ILabeledImageSource
{
    private readonly RawImages images;
    private readonly int[] indices;
    private readonly int normalClass;

    public RawSubset(RawImages images, int[] indices, int normalClass)
    {
        this.images = images;
        this.indices = indices;
        this.normalClass = normalClass;
    }

    public int Count => indices.Length;

    public bool HasMasks => false;

    public string GetName(int index) => $"#{indices[index]}";

    public int GetLabel(int index) => images.Labels[indices[index]] == normalClass ? 0 : 1;

    public BinaryMask? ReadMask(int index) => null;

    public int? StoredSize() => Math.Max(images.Height, images.Width);

    public void Read(int index, int channels, int size, Span<float> destination) =>
        ImagePreprocessing.ToModelInput(images.Image(indices[index]), channels, size, destination);
}

/// <summary>Reads MNIST-style IDX files (raw or gzip).</summary>
internal static class IdxReader
{
    public static RawImages Read(string imagesPath, string labelsPath)
    {
        byte[] images = ReadMaybeGzip(imagesPath);
        byte[] labels = ReadMaybeGzip(labelsPath);
        if (images.Length < 16 || BigEndian(images, 0) != 0x00000803)
        {
            throw new InvalidDataException($"'{imagesPath}' is not an IDX3 unsigned-byte image file (magic 0x00000803 expected).");
        }

        if (labels.Length < 8 || BigEndian(labels, 0) != 0x00000801)
        {
            throw new InvalidDataException($"'{labelsPath}' is not an IDX1 unsigned-byte label file (magic 0x00000801 expected).");
        }

        int count = BigEndian(images, 4), rows = BigEndian(images, 8), cols = BigEndian(images, 12);
        int labelCount = BigEndian(labels, 4);
        if (count <= 0 || rows <= 0 || cols <= 0 || images.Length != 16 + ((long)count * rows * cols))
        {
            throw new InvalidDataException($"'{imagesPath}' declares {count} images of {rows}×{cols} but holds {images.Length - 16} pixel bytes.");
        }

        if (labelCount != count || labels.Length != 8 + labelCount)
        {
            throw new InvalidDataException($"'{labelsPath}' declares {labelCount} labels ({labels.Length - 8} present) for {count} images in '{imagesPath}'.");
        }

        return new RawImages(images[16..], labels[8..], cols, rows, 1, planar: true, imagesPath);
    }

    private static byte[] ReadMaybeGzip(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        }

        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var output = new MemoryStream();
                gz.CopyTo(output);
                return output.ToArray();
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidDataException($"'{path}' is a corrupt or truncated gzip file: {ex.Message}", ex);
            }
        }

        return bytes;
    }

    private static int BigEndian(byte[] b, int offset) => (b[offset] << 24) | (b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3];
}

/// <summary>Reads CIFAR-10 binary batches: records of 1 label byte and 3072 planar RGB bytes.</summary>
internal static class CifarReader
{
    private const int Record = 1 + 3072;

    public static RawImages Read(IReadOnlyList<string> files)
    {
        var pixels = new List<byte>();
        var labels = new List<byte>();
        foreach (string file in files)
        {
            byte[] bytes = File.ReadAllBytes(file);
            if (bytes.Length == 0 || bytes.Length % Record != 0)
            {
                throw new InvalidDataException($"'{file}' is not a CIFAR-10 binary batch: {bytes.Length} bytes is not a multiple of {Record}.");
            }

            for (int r = 0; r < bytes.Length / Record; r++)
            {
                byte label = bytes[r * Record];
                if (label > 9)
                {
                    throw new InvalidDataException($"'{file}' record {r} has label {label}; CIFAR-10 labels are 0–9.");
                }

                labels.Add(label);
                pixels.AddRange(bytes.AsSpan((r * Record) + 1, 3072).ToArray());
            }
        }

        return new RawImages(pixels.ToArray(), labels.ToArray(), 32, 32, 3, planar: true, files[0]);
    }
}
