using System.Text.Json;
using DivideAssemble.Imaging;
using FluentAssertions;
using NUnit.Framework;
using SkiaSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>The one pixel path (decode → grey/RGB → resize) that training, scoring and every backend share.</summary>
public sealed class PreprocessingTests : TempFolderTest
{
    [Test]
    public void The_resize_matches_pytorchs_antialiased_bilinear_interpolation()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "resize.json")));
        foreach (var c in json.RootElement.GetProperty("cases").EnumerateArray())
        {
            int w = c.GetProperty("width").GetInt32(), h = c.GetProperty("height").GetInt32();
            int nw = c.GetProperty("newWidth").GetInt32(), nh = c.GetProperty("newHeight").GetInt32();
            var input = c.GetProperty("input").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            var expected = c.GetProperty("expected").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            var actual = ImagePreprocessing.Resize(input, w, h, nw, nh);
            actual.Should().HaveCount(nw * nh);
            actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max().Should().BeLessThan(1e-5f, $"{w}×{h} → {nw}×{nh}");
        }
    }

    [Test]
    public void Downscaling_averages_instead_of_aliasing()
    {
        // A one-pixel checkerboard has mean 0; a filter that samples instead of averaging would return ±1.
        var board = new float[64 * 64];
        for (int p = 0; p < board.Length; p++)
        {
            board[p] = ((p / 64) + (p % 64)) % 2 == 0 ? 1f : -1f;
        }

        ImagePreprocessing.Resize(board, 64, 64, 16, 16).Should().OnlyContain(v => Math.Abs(v) < 0.01, "an aliasing filter would give ±1");
    }

    [Test]
    public void Channels_convert_by_luma_weights_and_copies()
    {
        var rgb = new FloatImage(3, 1, 2, new[] { 1f, -1f, 0.5f, 0f, -0.5f, 1f });
        var grey = ImagePreprocessing.ConvertChannels(rgb, 1);
        grey.Pixels[0].Should().BeApproximately((0.299f * 1) + (0.587f * 0.5f) + (0.114f * -0.5f), 1e-6f);
        grey.Pixels[1].Should().BeApproximately((0.299f * -1) + (0.587f * 0) + (0.114f * 1), 1e-6f);
        var back = ImagePreprocessing.ConvertChannels(grey, 3);
        back.Pixels.Should().Equal(grey.Pixels.Concat(grey.Pixels).Concat(grey.Pixels));
        var rgba = ImagePreprocessing.ConvertChannels(rgb, 4);
        rgba.Pixels.Skip(6).Should().Equal(1f, 1f);
        ImagePreprocessing.ConvertChannels(rgba, 3).Pixels.Should().Equal(rgb.Pixels);
    }

    [TestCase(SKColorType.Gray8, 1, 24)]
    [TestCase(SKColorType.Gray8, 3, 16)]
    [TestCase(SKColorType.Rgba8888, 1, 32)]
    [TestCase(SKColorType.Rgba8888, 3, 20)]
    public void A_file_and_a_tensor_of_the_same_image_give_the_same_pixels(SKColorType type, int channels, int size)
    {
        string path = TestImages.Write(Path.Combine(dir, "img.png"), 37, 29, type, SKEncodedImageFormat.Png, (x, y) => ((byte)(x * 6), (byte)(y * 8), (byte)((x * y) % 251), 255));
        var fromFile = new float[channels * size * size];
        new FileImageSource(new[] { path }).Read(0, channels, size, fromFile);

        // The same pixels as a [1, C, H, W] tensor in [-1, 1], read through the tensor source.
        var decoded = ImageDecoder.DecodeFloat(path);
        using var scope = NewDisposeScope();
        var source = new TensorImageSource(tensor(decoded.Pixels, new long[] { 1, decoded.Channels, decoded.Height, decoded.Width }));
        var fromTensor = new float[channels * size * size];
        source.Read(0, channels, size, fromTensor);
        fromTensor.Should().Equal(fromFile, "one pixel path: decode, convert channels, resize");
    }

    [Test]
    public void Pixel_buffers_convert_like_decoded_files()
    {
        var bgr = new byte[] { 10, 20, 30, 40, 50, 60 };
        var image = FloatImage.FromPixels(bgr, 2, 1, PixelFormat.Bgr24);
        image.Channels.Should().Be(3);
        image.Pixels.Should().Equal(ImagePreprocessing.FromByte(30), ImagePreprocessing.FromByte(60), ImagePreprocessing.FromByte(20), ImagePreprocessing.FromByte(50), ImagePreprocessing.FromByte(10), ImagePreprocessing.FromByte(40));
        FluentActions.Invoking(() => FloatImage.FromPixels(bgr, 3, 1, PixelFormat.Bgr24)).Should().Throw<ArgumentException>().WithMessage("*needs 9 bytes*has 6*");
        FluentActions.Invoking(() => new FloatImage(2, 4, 4, new float[32])).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("channels");
        FluentActions.Invoking(() => new FloatImage(1, 4, 4, new float[15])).Should().Throw<ArgumentException>().WithMessage("*1×4×4 image has 16 values*holds 15*");
    }
}
