using System.Security.Cryptography;
using DivideAssemble.Imaging;
using FluentAssertions;
using NUnit.Framework;
using SkiaSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>Bad input, damaged files, interrupted saves and concurrent scoring (docs/reliability.md).</summary>
public sealed class ReliabilityTests : TempFolderTest
{
    [Test]
    public void Score_names_the_dimension_or_image_at_fault()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Trained(ModelVariant.Daad, epochs: 1);
        FluentActions.Invoking(() => detector.Score(zeros(32, 32))).Should().Throw<ArgumentException>().WithMessage("*4-d image batch*got 2 dimensions [32, 32]*");
        FluentActions.Invoking(() => detector.Score(zeros(0, 1, 32, 32))).Should().Throw<ArgumentException>().WithMessage("*batch is empty*");
        FluentActions.Invoking(() => detector.Score(zeros(2, 3, 32, 32))).Should().Throw<ArgumentException>().WithMessage("Dimension 1 (channels) is 3 in [2, 3, 32, 32]; the model takes 1-channel images*");
        FluentActions.Invoking(() => detector.Score(zeros(2, 1, 32, 48))).Should().Throw<ArgumentException>().WithMessage("Dimensions 2 and 3 (height, width) are 32×48*the model takes 32×32 images*");
        FluentActions.Invoking(() => detector.Score(zeros(new long[] { 1, 1, 32, 32 }, dtype: ScalarType.Bool))).Should().Throw<ArgumentException>().WithMessage("*element type Bool*");

        var poisoned = Synthetic.Textures(3, 32, 1, false);
        poisoned[1, 0, 4, 4] = tensor(float.NaN);
        FluentActions.Invoking(() => detector.Score(poisoned)).Should().Throw<ArgumentException>().WithMessage("Image 1 of the batch (of 3) holds NaN or infinite values*");
        var infinite = Synthetic.Textures(2, 32, 1, false);
        infinite[0, 0, 0, 0] = tensor(float.PositiveInfinity);
        FluentActions.Invoking(() => detector.Score(infinite)).Should().Throw<ArgumentException>().WithMessage("Image 0 *NaN or infinite*");
        detector.Score(Synthetic.Textures(2, 32, 1, false)).Should().HaveCount(2, "the detector still works after refusing bad input");
    }

    [Test]
    public void Training_refuses_an_empty_source_and_options_refuse_an_unknown_device()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Builder(ModelVariant.Daad, epochs: 1).Build();
        var empty = new TensorImageSource(zeros(0, 1, 32, 32));
        FluentActions.Invoking(() => detector.Fit(empty)).Should().Throw<ArgumentException>().WithMessage("*no images*");
        detector.IsTrained.Should().BeFalse();
        FluentActions.Invoking(() => DetectorTests.Builder(ModelVariant.Daad, 1).Configure(o => o.Device = "tpu").Build())
            .Should().Throw<Exception>().WithMessage("*Device*tpu*");
    }

    [Test]
    public void Asking_for_cuda_without_a_cuda_backend_fails_at_build_and_load_naming_the_device()
    {
        Assume.That(cuda.is_available(), Is.False, "this machine has CUDA: the error for a missing CUDA backend cannot be provoked here");
        using var scope = NewDisposeScope();
        FluentActions.Invoking(() => DetectorTests.Builder(ModelVariant.Daad, 1).Configure(o => o.Device = "cuda").Build())
            .Should().Throw<InvalidOperationException>().WithMessage("Device 'cuda' was requested but CUDA is not available*");
        string path = Path.Combine(dir, "m.daad");
        using (var trained = DetectorTests.Trained(ModelVariant.Daad, 1))
        {
            trained.Save(path);
        }

        FluentActions.Invoking(() => AnomalyDetector.Load(path, "cuda:1", null)).Should().Throw<InvalidOperationException>().WithMessage("*'cuda:1'*CUDA is not available*");
    }

    [Test]
    public void Damaged_model_files_are_refused_whole_with_the_reason()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Trained(ModelVariant.Daad, epochs: 1);
        string good = Path.Combine(dir, "good.daad");
        detector.Save(good);
        byte[] bytes = File.ReadAllBytes(good);

        Expect(Write("flipped.daad", Mutate(bytes, b => b[b.Length / 2] ^= 0x10)), "*flipped.daad* fails its SHA-256 checksum*");
        Expect(Write("short.daad", bytes[..(bytes.Length - 100)]), "*short.daad* is truncated*");
        Expect(Write("header-only.daad", bytes[..10]), "*header-only.daad* is truncated*");
        Expect(Write("empty.daad", Array.Empty<byte>()), "*empty.daad* is empty*");
        Expect(Write("future.daad", Mutate(bytes, b => BitConverter.GetBytes(99).CopyTo(b, 8))), "*future.daad* has model format version 99; this library reads versions 1 to 5*");
        Expect(Write("old.daad", Mutate(bytes, b => BitConverter.GetBytes(0).CopyTo(b, 8))), "*old.daad* has model format version 0*");
        Expect(Write("picture.png", Png(SKColorType.Gray8)), "*picture.png* is not a DivideAssemble model file*");

        // A file whose checksum is valid but whose options are not (written by something else) is refused before any network is built.
        string json = System.Text.Encoding.UTF8.GetString(bytes, 20, BitConverter.ToInt32(bytes, 16));
        json.Should().Contain("\"MemoryItems\":20");
        Expect(Write("bad-options.daad", Resign(Mutate(bytes, b => System.Text.Encoding.UTF8.GetBytes("\"MemoryItems\": 0").CopyTo(b, 20 + json.IndexOf("\"MemoryItems\":20", StringComparison.Ordinal))))), "*bad-options.daad* holds invalid options*MemoryItems*");

        // Checkpoints are checked the same way before training resumes.
        string checkpoint = Path.Combine(dir, "run.ckpt");
        using (var d = DetectorTests.Builder(ModelVariant.Daad, epochs: 1).Configure(o => o.Training.CheckpointEvery = 1).Build())
        {
            d.FitWithCheckpoints(new TensorImageSource(Synthetic.Textures(16, 32, 1, false)), checkpoint);
        }

        var ckpt = File.ReadAllBytes(checkpoint);
        File.WriteAllBytes(checkpoint, Mutate(ckpt, b => b[^100] ^= 1));
        var images = new TensorImageSource(Synthetic.Textures(16, 32, 1, false));
        FluentActions.Invoking(() => AnomalyDetector.Resume(checkpoint, images)).Should().Throw<InvalidDataException>().WithMessage("*run.ckpt* fails its SHA-256 checksum*");
        FluentActions.Invoking(() => AnomalyDetector.Resume(Path.Combine(dir, "nothing.ckpt"), images)).Should().Throw<FileNotFoundException>().WithMessage("*nothing.ckpt*");

        string Write(string name, byte[] content)
        {
            string path = Path.Combine(dir, name);
            File.WriteAllBytes(path, content);
            return path;
        }

        static void Expect(string path, string message) =>
            FluentActions.Invoking(() => AnomalyDetector.Load(path)).Should().Throw<InvalidDataException>().WithMessage(message);
    }

    [Test]
    public void An_interrupted_save_leaves_the_previous_model_intact()
    {
        using var scope = NewDisposeScope();
        using var first = DetectorTests.Trained(ModelVariant.Daad, epochs: 1);
        using var second = DetectorTests.Trained(ModelVariant.Daad, epochs: 2);
        string path = Path.Combine(dir, "model.daad");
        first.Save(path);
        byte[] before = File.ReadAllBytes(path);

        // The write dies half-way (disk full, process stopping): the exception surfaces, the old file stays, no temporary file remains.
        using var full = new MemoryStream();
        second.Save(full);
        FluentActions.Invoking(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(full.GetBuffer().AsSpan(0, (int)full.Length / 2));
            throw new IOException("No space left on device");
        })).Should().Throw<IOException>().WithMessage("No space left on device");
        File.ReadAllBytes(path).Should().Equal(before);
        Directory.GetFiles(dir).Should().Equal(path);

        // A process killed mid-save cannot clean up: its half-written temporary file sits next to the model and changes nothing.
        File.WriteAllBytes(path + ".tmp-0123456789abcdef", full.ToArray()[..((int)full.Length / 3)]);
        using var loaded = AnomalyDetector.Load(path);
        var probe = Synthetic.Textures(2, 32, 9, false);
        loaded.Score(probe)[0].Score.Should().BeApproximately(first.Score(probe)[0].Score, 1e-6);
    }

    [Category("Slow")]
    [Test]
    public void Fuzzed_image_bytes_always_give_a_managed_error_or_an_image()
    {
        var seeds = new[] { Png(SKColorType.Gray8), Png(SKColorType.Rgba8888), Encode(SKEncodedImageFormat.Jpeg), Bmp() };
        var random = new Random(11);
        int decoded = 0, refused = 0;
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = i % 10 == 0 ? RandomBytes(random, random.Next(0, 600)) : Fuzz(seeds[i % seeds.Length], random);
            try
            {
                var image = ImageDecoder.Decode(bytes, $"case {i}");
                image.Rgba.Length.Should().Be(4 * image.Width * image.Height);
                decoded++;
            }
            catch (InvalidDataException ex)
            {
                ex.Message.Should().StartWith($"case {i} ");
                refused++;
            }
        }

        refused.Should().BeGreaterThan(1000);
        decoded.Should().BeGreaterThan(100, "some mutations leave a decodable image; they must decode to a consistent buffer");
    }

    [Category("Slow")]
    [Test]
    public void Fuzzed_model_bytes_always_give_a_managed_error()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Trained(ModelVariant.DaadPlus, epochs: 1);
        using var buffer = new MemoryStream();
        detector.Save(buffer);
        byte[] model = buffer.ToArray();
        var random = new Random(5);
        var messages = new HashSet<string>(StringComparer.Ordinal);
        int loaded = 0;
        for (int i = 0; i < 2000; i++)
        {
            // Most cases fail the checksum; every fourth is re-signed so that the parser behind the checksum is fuzzed too.
            byte[] bytes = i % 50 == 0 ? RandomBytes(random, random.Next(0, 4000)) : Fuzz(model, random);
            if (i % 4 == 1)
            {
                bytes = Resign(bytes);
            }

            try
            {
                using var stream = new MemoryStream(bytes);
                using var d = AnomalyDetector.Load(stream);
                loaded++;
            }
            catch (InvalidDataException ex)
            {
                ex.Message.Should().StartWith("The model stream ");
                messages.Add(ex.Message.Split(':')[0]);
            }
        }

        messages.Should().Contain(m => m.Contains("checksum", StringComparison.Ordinal));
        messages.Should().Contain(m => m.Contains("not a DivideAssemble model file", StringComparison.Ordinal));
        messages.Count.Should().BeGreaterThan(4, "the re-signed cases reach the header and weight parsers");
        TestContext.Out.WriteLine($"{loaded} of 2000 fuzzed files still loaded (mutations of weight bytes only); distinct errors: {string.Join(" | ", messages.Take(12))}");
    }

    [Test]
    public void Eight_threads_score_concurrently_and_get_the_sequential_results()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Trained(ModelVariant.DaadPlus, epochs: 1);
        var batches = Enumerable.Range(0, 8).Select(i => Synthetic.Textures(3, 32, 100 + i, i % 2 == 1)).ToArray();
        var sequential = batches.Select(b => detector.Score(b).Select(r => (r.Score, (double)r.AnomalyMap.Sum())).ToArray()).ToArray();

        // Count generator forwards in flight: scoring holds only a shared lock, so they overlap.
        int inFlight = 0, mostAtOnce = 0;
        var enter = detector.Generator.register_forward_pre_hook(_ =>
        {
            int now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref mostAtOnce, now);
            Thread.Sleep(20);
        });
        var leave = detector.Generator.register_forward_hook(_ => Interlocked.Decrement(ref inFlight));
        var parallel = new (double, double)[8][];
        Concurrently.Run(8, i =>
        {
            using var threadScope = NewDisposeScope();
            for (int repeat = 0; repeat < 3; repeat++)
            {
                parallel[i] = detector.Score(batches[i]).Select(r => (r.Score, (double)r.AnomalyMap.Sum())).ToArray();
            }
        });
        enter.remove();
        leave.remove();

        mostAtOnce.Should().BeGreaterThan(1, "scoring calls run at the same time instead of one after another");
        for (int i = 0; i < 8; i++)
        {
            parallel[i].Should().Equal(sequential[i], $"batch {i}");
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private static byte[] Mutate(byte[] bytes, Action<byte[]> change)
    {
        var copy = bytes.ToArray();
        change(copy);
        return copy;
    }

    /// <summary>Recomputes the trailing SHA-256 so that a deliberately damaged file passes the checksum.</summary>
    private static byte[] Resign(byte[] bytes)
    {
        if (bytes.Length < 32)
        {
            return bytes;
        }

        var copy = bytes.ToArray();
        SHA256.HashData(copy.AsSpan(0, copy.Length - 32)).CopyTo(copy, copy.Length - 32);
        return copy;
    }

    private static byte[] Fuzz(byte[] seed, Random random)
    {
        var bytes = seed.ToList();
        int edits = 1 + random.Next(8);
        for (int e = 0; e < edits && bytes.Count > 0; e++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 1: bytes[at] = (byte)random.Next(256); break;
                case 2: bytes.RemoveRange(at, bytes.Count - at); break;
                case 3: bytes.Insert(at, (byte)random.Next(256)); break;
                default: bytes.RemoveAt(at); break;
            }
        }

        return bytes.ToArray();
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Png(SKColorType type) => Encode(SKEncodedImageFormat.Png, type);

    private static byte[] Encode(SKEncodedImageFormat format, SKColorType type = SKColorType.Rgba8888)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(12, 10, type, SKAlphaType.Unpremul));
        for (int y = 0; y < 10; y++)
        {
            for (int x = 0; x < 12; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 20), (byte)(y * 25), (byte)((x + y) * 10)));
            }
        }

        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    /// <summary>A 4×3 24-bit BMP, written by hand (SkiaSharp does not encode BMP).</summary>
    private static byte[] Bmp()
    {
        const int w = 4, h = 3, row = 12;
        var b = new byte[54 + (row * h)];
        "BM"u8.CopyTo(b);
        BitConverter.GetBytes(b.Length).CopyTo(b, 2);
        BitConverter.GetBytes(54).CopyTo(b, 10);
        BitConverter.GetBytes(40).CopyTo(b, 14);
        BitConverter.GetBytes(w).CopyTo(b, 18);
        BitConverter.GetBytes(h).CopyTo(b, 22);
        BitConverter.GetBytes((short)1).CopyTo(b, 26);
        BitConverter.GetBytes((short)24).CopyTo(b, 28);
        for (int i = 54; i < b.Length; i++)
        {
            b[i] = (byte)(i * 7);
        }

        return b;
    }
}
