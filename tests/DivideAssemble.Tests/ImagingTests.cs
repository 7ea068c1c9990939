using System.IO.Compression;
using DivideAssemble.Imaging;
using FluentAssertions;
using NUnit.Framework;
using SkiaSharp;

namespace DivideAssemble.Tests;

public sealed class ImagingTests : TempFolderTest
{
    [TestCase(SKColorType.Gray8, SKEncodedImageFormat.Png, ".png")]
    [TestCase(SKColorType.Rgba8888, SKEncodedImageFormat.Png, ".png")]
    [TestCase(SKColorType.Rgba8888, SKEncodedImageFormat.Jpeg, ".jpg")]
    [TestCase(SKColorType.Rgba8888, SKEncodedImageFormat.Bmp, ".bmp")]
    public void Grey_rgb_and_rgba_files_decode_to_the_configured_channels_in_minus_one_to_one(SKColorType colorType, SKEncodedImageFormat format, string extension)
    {
        string path = TestImages.Write(Path.Combine(dir, "img" + extension), 16, 12, colorType, format, (x, y) => ((byte)(x * 16), (byte)(y * 20), (byte)200, (byte)128));

        var grey = new float[1 * 8 * 8];
        var rgb = new float[3 * 8 * 8];
        var source = new FileImageSource(new[] { path });
        source.Read(0, 1, 8, grey);
        source.Read(0, 3, 8, rgb);
        grey.Should().OnlyContain(v => v >= -1 && v <= 1);
        rgb.Should().OnlyContain(v => v >= -1 && v <= 1);
        var decoded = ImageDecoder.Decode(path);
        decoded.Width.Should().Be(16);
        decoded.Height.Should().Be(12);
        if (colorType == SKColorType.Gray8)
        {
            decoded.IsGrey.Should().BeTrue();
            rgb.AsSpan(0, 64).ToArray().Should().Equal(rgb.AsSpan(64, 64).ToArray(), "grey expands to equal R, G and B");
        }
        else if (format != SKEncodedImageFormat.Jpeg)
        {
            // Blue is 200 everywhere: (200 / 127.5) - 1.
            rgb.AsSpan(128, 64).ToArray().Should().OnlyContain(v => Math.Abs(v - ((200 / 127.5f) - 1)) < 1e-4);
        }
    }

    [Test]
    public void A_truncated_png_is_an_error_naming_the_file_not_a_grey_image()
    {
        string path = TestImages.Write(Path.Combine(dir, "whole.png"), 64, 64, SKColorType.Rgba8888, SKEncodedImageFormat.Png, (x, y) => ((byte)x, (byte)y, (byte)(x ^ y), (byte)255));
        byte[] bytes = File.ReadAllBytes(path);
        string cut = Path.Combine(dir, "cut.png");
        File.WriteAllBytes(cut, bytes.AsSpan(0, bytes.Length * 2 / 3).ToArray());
        FluentActions.Invoking(() => ImageDecoder.Decode(cut)).Should().Throw<InvalidDataException>().WithMessage("*cut.png* truncated*");
    }

    [Test]
    public void Non_image_empty_and_missing_files_are_clear_errors()
    {
        string text = Path.Combine(dir, "notes.png");
        File.WriteAllText(text, "this is not a PNG");
        FluentActions.Invoking(() => ImageDecoder.Decode(text)).Should().Throw<InvalidDataException>().WithMessage("*notes.png* is not an image*");
        string empty = Path.Combine(dir, "empty.png");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        FluentActions.Invoking(() => ImageDecoder.Decode(empty)).Should().Throw<InvalidDataException>().WithMessage("*empty.png* is empty*");
        FluentActions.Invoking(() => ImageDecoder.Decode(Path.Combine(dir, "nope.png"))).Should().Throw<FileNotFoundException>().WithMessage("*nope.png*");
    }

    [Test]
    public void Mvtec_layout_loads_with_labels_and_masks()
    {
        string root = TestImages.MvtecCategory(dir, "carpet", train: 5, good: 2, defects: new[] { "cut", "hole" }, perDefect: 2, size: 32);
        var data = Datasets.Mvtec(dir, "carpet");
        data.Train.Count.Should().Be(5);
        data.Test.Count.Should().Be(6);
        data.Test.HasMasks.Should().BeTrue();
        Enumerable.Range(0, 6).Select(data.Test.GetLabel).Should().BeEquivalentTo(new[] { 1, 1, 0, 0, 1, 1 }, o => o.WithStrictOrdering());
        var mask = data.Test.ReadMask(0)!;
        mask.Width.Should().Be(32);
        mask.Pixels.Count(p => p).Should().BeGreaterThan(0);
        data.Test.ReadMask(2)!.Pixels.Should().OnlyContain(p => !p);
        Datasets.Mvtec(root).Test.Count.Should().Be(6, "the category folder itself works too");
    }

    [Test]
    public void A_labelled_folder_reads_good_or_normal_as_normal_and_every_other_subfolder_as_anomalous()
    {
        TestImages.MvtecCategory(dir, "line", train: 1, good: 2, defects: new[] { "cut", "hole" }, perDefect: 1, size: 16);
        string test = Path.Combine(dir, "line", "test");
        Directory.Move(Path.Combine(test, "good"), Path.Combine(test, "normal"));
        File.Copy(Path.Combine(test, "cut", "000.png"), Path.Combine(test, "loose.png")); // top-level files are not read

        var labelled = Datasets.LabelledFolder(test);
        labelled.Paths.Select(p => Path.GetRelativePath(test, p)).Should().Equal(
            Path.Combine("cut", "000.png"), Path.Combine("hole", "000.png"), Path.Combine("normal", "000.png"), Path.Combine("normal", "001.png"));
        Enumerable.Range(0, labelled.Count).Select(labelled.GetLabel).Should().Equal(1, 1, 0, 0);
        labelled.HasMasks.Should().BeFalse();
        FluentActions.Invoking(() => Datasets.LabelledFolder(Path.Combine(dir, "elsewhere"))).Should().Throw<DirectoryNotFoundException>().WithMessage("*labelled image folder*elsewhere*");
    }

    [Test]
    public void A_mask_whose_size_differs_from_its_image_is_named()
    {
        TestImages.MvtecCategory(dir, "bad", train: 2, good: 1, defects: new[] { "cut" }, perDefect: 1, size: 32);
        string mask = Path.Combine(dir, "bad", "ground_truth", "cut", "000_mask.png");
        TestImages.Write(mask, 16, 16, SKColorType.Gray8, SKEncodedImageFormat.Png, (_, _) => (255, 255, 255, 255));
        var data = Datasets.Mvtec(dir, "bad");
        int anomalous = Enumerable.Range(0, data.Test.Count).First(i => data.Test.GetLabel(i) == 1);
        FluentActions.Invoking(() => data.Test.ReadMask(anomalous)).Should().Throw<InvalidDataException>().WithMessage("*000_mask.png* is 16×16*000.png* is 32×32*");
    }

    [Test]
    public void Missing_folders_and_empty_splits_are_named()
    {
        FluentActions.Invoking(() => Datasets.Mvtec(dir, "nothing")).Should().Throw<DirectoryNotFoundException>().WithMessage("*category 'nothing'*");
        Directory.CreateDirectory(Path.Combine(dir, "empty", "train", "good"));
        Directory.CreateDirectory(Path.Combine(dir, "empty", "test"));
        FluentActions.Invoking(() => Datasets.Mvtec(Path.Combine(dir, "empty"))).Should().Throw<InvalidDataException>().WithMessage("*train*good* holds no*");
        FluentActions.Invoking(() => Datasets.Folder(Path.Combine(dir, "empty", "test"))).Should().Throw<InvalidDataException>().WithMessage("*holds no*");
    }

    [Test]
    public void Unreadable_files_can_be_skipped_and_reported_on_request()
    {
        TestImages.Write(Path.Combine(dir, "a.png"), 8, 8, SKColorType.Gray8, SKEncodedImageFormat.Png, (x, y) => ((byte)x, 0, 0, 255));
        File.WriteAllText(Path.Combine(dir, "b.png"), "garbage");
        var folder = Datasets.Folder(dir);
        folder.Count.Should().Be(2);
        var buffer = new float[64];
        FluentActions.Invoking(() => folder.Read(1, 1, 8, buffer)).Should().Throw<InvalidDataException>().WithMessage("*b.png*");
        var (clean, skipped) = folder.WithoutUnreadable();
        clean.Count.Should().Be(1);
        skipped.Should().ContainSingle(s => s.Path.EndsWith("b.png", StringComparison.Ordinal));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Idx_files_raw_or_gzip_load_with_a_deterministic_per_class_split(bool gzip)
    {
        TestImages.WriteIdx(dir, prefix: string.Empty, count: 50, classes: 5, gzip);
        var data = Datasets.Idx(dir, normalClass: 2);
        data.Train.Count.Should().Be(8, "the first 80 % of class 2's 10 images");
        data.Test.Count.Should().Be(10, "the last 20 % of every class");
        Enumerable.Range(0, data.Test.Count).Count(i => data.Test.GetLabel(i) == 0).Should().Be(2);
        var again = Datasets.Idx(dir, normalClass: 2);
        Enumerable.Range(0, again.Test.Count).Select(again.Test.GetName).Should().Equal(Enumerable.Range(0, data.Test.Count).Select(data.Test.GetName));
        var trainNames = Enumerable.Range(0, data.Train.Count).Select(data.Train.GetName).ToHashSet();
        Enumerable.Range(0, data.Test.Count).Select(data.Test.GetName).Should().NotIntersectWith(trainNames);
        var pixels = new float[28 * 28];
        data.Train.Read(0, 1, 28, pixels);
        pixels.Should().OnlyContain(v => v >= -1 && v <= 1);
    }

    [Test]
    public void The_idx_validation_split_reads_only_the_training_part()
    {
        TestImages.WriteIdx(dir, prefix: string.Empty, count: 80, classes: 5, gzip: false);
        var test = Datasets.Idx(dir, normalClass: 2);
        var validation = Datasets.Idx(dir, normalClass: 2, validation: true);
        validation.Train.Count.Should().Be(10, "7/8 of class 2's 12 training images (80 % of 16), rounded down");
        validation.Test.Count.Should().Be(10, "the other 2 training images of each of the 5 classes");
        var testNames = Enumerable.Range(0, test.Test.Count).Select(test.Test.GetName).ToHashSet();
        var used = Enumerable.Range(0, validation.Train.Count).Select(validation.Train.GetName)
            .Concat(Enumerable.Range(0, validation.Test.Count).Select(validation.Test.GetName)).ToList();
        used.Should().OnlyHaveUniqueItems().And.NotIntersectWith(testNames);
        validation.Description.Should().Contain("validation split");
    }

    [Test]
    public void The_mvtec_validation_split_never_reads_the_test_folder_and_paints_defects_with_masks()
    {
        TestImages.MvtecCategory(dir, "cat", train: 20, good: 2, defects: new[] { "blob" }, perDefect: 2, size: 32);
        Directory.Delete(Path.Combine(dir, "cat", "test"), recursive: true);
        var data = Datasets.Mvtec(Path.Combine(dir, "cat"), validation: true);
        data.Train.Count.Should().Be(16);
        data.Test.Count.Should().Be(12, "4 held-back images, each as it is and (a small split) with two defects");
        data.Test.HasMasks.Should().BeTrue();
        var kinds = Enumerable.Range(4, 8).Select(i => ((SyntheticDefects)data.Test).Describe(i).Kind).ToList();
        kinds.Should().OnlyContain(k => k == SyntheticDefects.DefectKind.Scratch || k == SyntheticDefects.DefectKind.Stain, "validation defects are families training never synthesises");
        kinds.Should().Contain(SyntheticDefects.DefectKind.Scratch).And.Contain(SyntheticDefects.DefectKind.Stain);
        var clean = new float[32 * 32];
        var painted = new float[32 * 32];
        for (int i = 0; i < 4; i++)
        {
            data.Test.GetLabel(i).Should().Be(0);
            data.Test.GetLabel(i + 4).Should().Be(1);
            data.Test.ReadMask(i)!.Pixels.Should().OnlyContain(p => !p);
            data.Test.Read(i, 1, 32, clean);
            data.Test.Read(i + 4, 1, 32, painted);
            var mask = data.Test.ReadMask(i + 4)!;
            int inside = 0, changed = 0, changedOutside = 0;
            for (int y = 0; y < 32; y++)
            {
                for (int x = 0; x < 32; x++)
                {
                    bool m = mask.Pixels[((((2 * y) + 1) * mask.Height / 64) * mask.Width) + (((2 * x) + 1) * mask.Width / 64)];
                    bool c = clean[(y * 32) + x] != painted[(y * 32) + x];
                    inside += m ? 1 : 0;
                    changed += c ? 1 : 0;
                    changedOutside += c && !m ? 1 : 0;
                }
            }

            inside.Should().BeGreaterThan(0, data.Test.GetName(i + 4));
            changed.Should().BeGreaterThan(inside / 3, "the defect is painted where the mask says");
            changedOutside.Should().BeLessThanOrEqualTo(Math.Max(2, inside / 10), "nothing is painted outside the mask, up to the mask's finer sampling at the border");
            data.Test.GetName(i + 4).Should().Contain("synthetic");
        }

        data.Test.StoredSize().Should().Be(32, "the held-back files are stored at 32×32");

        var again = Datasets.Mvtec(Path.Combine(dir, "cat"), validation: true);
        var repeat = new float[32 * 32];
        again.Test.Read(5, 1, 32, repeat);
        data.Test.Read(5, 1, 32, painted);
        repeat.Should().Equal(painted, "defects are seeded");
        FluentActions.Invoking(() => new SyntheticDefects(new FileImageSource(new[] { Path.Combine(dir, "cat", "train", "good", "000.png") })))
            .Should().Throw<ArgumentException>().WithMessage("*at least two normal images*");
    }

    [Test]
    public void A_synthetic_defect_read_smaller_than_stored_is_the_stored_defect_averaged_down()
    {
        // Flat images stored at 128: a defect read at 64 must equal the one read at 128, averaged over 2×2 pixels —
        // a scratch thinner than a pixel turns faint, as it does when a real image is shrunk, instead of keeping
        // its full contrast on the pixels whose centres it happens to cross.
        var flat = ImageSources.FromImages(Enumerable.Range(0, 4).Select(_ => new FloatImage(1, 128, 128, new float[128 * 128])).ToList());
        var defects = new SyntheticDefects(flat, seed: 3, kinds: new[] { SyntheticDefects.DefectKind.Scratch });
        defects.StoredSize().Should().Be(128);
        defects.Describe(4).Faint.Should().BeTrue("the first defect is faint, so no pixel is clamped at either size");
        var full = new float[128 * 128];
        var half = new float[64 * 64];
        defects.Read(4, 1, 128, full);
        defects.Read(4, 1, 64, half);
        double shift = full.Max(Math.Abs);
        shift.Should().BeGreaterThan(0.1);
        for (int y = 0; y < 64; y++)
        {
            for (int x = 0; x < 64; x++)
            {
                float mean = (full[(2 * y * 128) + (2 * x)] + full[(2 * y * 128) + (2 * x) + 1] + full[(((2 * y) + 1) * 128) + (2 * x)] + full[(((2 * y) + 1) * 128) + (2 * x) + 1]) / 4;
                half[(y * 64) + x].Should().BeApproximately(mean, 1e-5f, $"pixel ({x}, {y})");
            }
        }

        half.Count(v => v != 0 && Math.Abs(v) < shift - 1e-4).Should().BeGreaterThan(0, "pixels the scratch only partly covers are painted partly");
    }

    [Test]
    public void Canonical_idx_pairs_use_the_official_split()
    {
        TestImages.WriteIdx(dir, "train-", count: 30, classes: 3, gzip: true);
        TestImages.WriteIdx(dir, "t10k-", count: 12, classes: 3, gzip: false);
        var data = Datasets.Idx(dir, normalClass: 1);
        data.Train.Count.Should().Be(10);
        data.Test.Count.Should().Be(12);
        data.Description.Should().Contain("official");
    }

    [Test]
    public void Malformed_idx_and_cifar_files_are_named()
    {
        File.WriteAllBytes(Path.Combine(dir, "images-idx3-ubyte"), new byte[20]);
        File.WriteAllBytes(Path.Combine(dir, "labels-idx1-ubyte"), new byte[10]);
        FluentActions.Invoking(() => Datasets.Idx(dir, 0)).Should().Throw<InvalidDataException>().WithMessage("*images-idx3-ubyte* is not an IDX3*");
        string cifar = Path.Combine(dir, "cifar");
        Directory.CreateDirectory(cifar);
        File.WriteAllBytes(Path.Combine(cifar, "data_batch_1.bin"), new byte[100]);
        File.WriteAllBytes(Path.Combine(cifar, "test_batch.bin"), new byte[3073]);
        FluentActions.Invoking(() => Datasets.Cifar10(cifar, 0)).Should().Throw<InvalidDataException>().WithMessage("*data_batch_1.bin* not a multiple of 3073*");
    }

    [Test]
    public void Cifar_batches_load_as_rgb_with_the_one_class_protocol()
    {
        var rng = new Random(1);
        void Batch(string name, int records)
        {
            var bytes = new byte[records * 3073];
            rng.NextBytes(bytes);
            for (int r = 0; r < records; r++)
            {
                bytes[r * 3073] = (byte)(r % 10);
            }

            File.WriteAllBytes(Path.Combine(dir, name), bytes);
        }

        Batch("data_batch_1.bin", 40);
        Batch("test_batch.bin", 20);
        var data = Datasets.Cifar10(dir, normalClass: 3);
        data.Train.Count.Should().Be(4);
        data.Test.Count.Should().Be(20);
        Enumerable.Range(0, 20).Count(i => data.Test.GetLabel(i) == 0).Should().Be(2);
        var rgb = new float[3 * 32 * 32];
        data.Train.Read(0, 3, 32, rgb);
        rgb.Should().OnlyContain(v => v >= -1 && v <= 1);
    }
}

/// <summary>Small image files written by the tests themselves.</summary>
internal static class TestImages
{
    public static string Write(string path, int width, int height, SKColorType colorType, SKEncodedImageFormat format, Func<int, int, (byte R, byte G, byte B, byte A)> pixel)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var info = new SKImageInfo(width, height, colorType, colorType == SKColorType.Gray8 ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b, a) = pixel(x, y);
                bitmap.SetPixel(x, y, colorType == SKColorType.Gray8 ? new SKColor(r, r, r) : new SKColor(r, g, b, a));
            }
        }

        if (format == SKEncodedImageFormat.Bmp)
        {
            // SkiaSharp decodes BMP but cannot encode it: write a 24-bit BI_RGB file by hand.
            WriteBmp(path, width, height, pixel);
            return path;
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 95);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    private static void WriteBmp(string path, int width, int height, Func<int, int, (byte R, byte G, byte B, byte A)> pixel)
    {
        int rowBytes = ((width * 3) + 3) / 4 * 4;
        using var w = new BinaryWriter(File.Create(path));
        w.Write((byte)'B');
        w.Write((byte)'M');
        w.Write(54 + (rowBytes * height));
        w.Write(0);
        w.Write(54);
        w.Write(40);
        w.Write(width);
        w.Write(height);
        w.Write((short)1);
        w.Write((short)24);
        w.Write(0);
        w.Write(rowBytes * height);
        w.Write(2835);
        w.Write(2835);
        w.Write(0);
        w.Write(0);
        for (int y = height - 1; y >= 0; y--)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b, _) = pixel(x, y);
                w.Write(b);
                w.Write(g);
                w.Write(r);
            }

            for (int p = width * 3; p < rowBytes; p++)
            {
                w.Write((byte)0);
            }
        }
    }

    public static string MvtecCategory(string root, string name, int train, int good, string[] defects, int perDefect, int size)
    {
        string category = Path.Combine(root, name);
        var rng = new Random(name.Length);
        (byte, byte, byte, byte) Noise(int x, int y)
        {
            byte v = (byte)rng.Next(60, 200);
            return (v, v, v, 255);
        }

        for (int i = 0; i < train; i++)
        {
            Write(Path.Combine(category, "train", "good", $"{i:D3}.png"), size, size, SKColorType.Gray8, SKEncodedImageFormat.Png, Noise);
        }

        for (int i = 0; i < good; i++)
        {
            Write(Path.Combine(category, "test", "good", $"{i:D3}.png"), size, size, SKColorType.Gray8, SKEncodedImageFormat.Png, Noise);
        }

        foreach (string defect in defects)
        {
            for (int i = 0; i < perDefect; i++)
            {
                int cx = rng.Next(6, size - 6), cy = rng.Next(6, size - 6);
                bool Inside(int x, int y) => Math.Abs(x - cx) < 4 && Math.Abs(y - cy) < 4;
                Write(Path.Combine(category, "test", defect, $"{i:D3}.png"), size, size, SKColorType.Gray8, SKEncodedImageFormat.Png, (x, y) => Inside(x, y) ? ((byte)255, (byte)255, (byte)255, (byte)255) : Noise(x, y));
                Write(Path.Combine(category, "ground_truth", defect, $"{i:D3}_mask.png"), size, size, SKColorType.Gray8, SKEncodedImageFormat.Png, (x, y) => Inside(x, y) ? ((byte)255, (byte)255, (byte)255, (byte)255) : ((byte)0, (byte)0, (byte)0, (byte)255));
            }
        }

        return category;
    }

    public static void WriteIdx(string folder, string prefix, int count, int classes, bool gzip)
    {
        var images = new byte[16 + (count * 28 * 28)];
        BigEndian(images, 0, 0x00000803);
        BigEndian(images, 4, count);
        BigEndian(images, 8, 28);
        BigEndian(images, 12, 28);
        new Random(count).NextBytes(images.AsSpan(16));
        var labels = new byte[8 + count];
        BigEndian(labels, 0, 0x00000801);
        BigEndian(labels, 4, count);
        for (int i = 0; i < count; i++)
        {
            labels[8 + i] = (byte)(i % classes);
        }

        Save(Path.Combine(folder, prefix + "images-idx3-ubyte" + (gzip ? ".gz" : string.Empty)), images, gzip);
        Save(Path.Combine(folder, prefix + "labels-idx1-ubyte" + (gzip ? ".gz" : string.Empty)), labels, gzip);
    }

    private static void Save(string path, byte[] bytes, bool gzip)
    {
        if (!gzip)
        {
            File.WriteAllBytes(path, bytes);
            return;
        }

        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(bytes);
    }

    private static void BigEndian(byte[] b, int offset, int value)
    {
        b[offset] = (byte)(value >> 24);
        b[offset + 1] = (byte)(value >> 16);
        b[offset + 2] = (byte)(value >> 8);
        b[offset + 3] = (byte)value;
    }
}
