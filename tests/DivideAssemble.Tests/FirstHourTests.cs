using System.Reflection;
using System.Runtime.CompilerServices;
using DivideAssemble.Imaging;
using DivideAssemble.Onnx;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using SkiaSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>The traps a new user met in the first hour (issue "1.0 release candidate"), each with the behaviour that replaced it.</summary>
public sealed class FirstHourTests : TempFolderTest
{
    private static DaadBuilder Small(int epochs = 1) => DaadBuilder.Create()
        .WithImageSize(32)
        .WithArchitecture(3, 8, 32)
        .WithBlockDivision(4, 4)
        .WithMemory(20)
        .WithTraining(epochs, 8)
        .WithSeed(3);

    [TestCase(SKColorType.Gray8, 1)]
    [TestCase(SKColorType.Rgba8888, 3)]
    public void Channels_come_from_the_training_files_when_unset(SKColorType colour, int expected)
    {
        for (int i = 0; i < 12; i++)
        {
            TestImages.Write(Path.Combine(dir, "good", $"{i:D2}.png"), 32, 32, colour, SKEncodedImageFormat.Png, (x, y) => ((byte)(x * 8), (byte)(y * 8), (byte)((x + i) * 4), 255));
        }

        using var detector = Small().Build();
        detector.Options.Network.Channels.Should().BeNull("nothing set them yet");
        detector.Fit(Datasets.Folder(Path.Combine(dir, "good")));
        detector.Options.Network.Channels.Should().Be(expected);
        detector.Summary().Should().Contain(expected == 1 ? "1×32×32" : "3×32×32");
    }

    [Test]
    public void An_explicit_channel_count_wins_sources_are_converted_and_a_tensor_of_other_channels_is_refused_naming_both()
    {
        using var scope = NewDisposeScope();
        using var detector = Small().WithChannels(3).Build();
        detector.Fit(new TensorImageSource(Synthetic.Textures(12, 32, 1, false)));
        detector.Options.Network.Channels.Should().Be(3, "the setting wins; grey sources are converted as files are");
        var grey = () => detector.Score(Synthetic.Textures(1, 32, 5, false)[0]);
        grey.Should().Throw<ArgumentException>().Which.Message.Should().Contain("channels) is 1").And.Contain("3-channel");
        detector.Score(Synthetic.Textures(1, 32, 5, false, channels: 3)[0]).Single().AnomalyMap.Should().HaveCount(32 * 32);
    }

    [Test]
    public void Tensors_outside_minus_one_to_one_are_refused_with_how_to_scale_them()
    {
        using var scope = NewDisposeScope();
        using var eightBit = (Synthetic.Textures(12, 32, 1, false) + 1) * 127.5;
        using var detector = Small().WithChannels(1).Build();
        var fit = () => detector.Fit(new TensorImageSource(eightBit));
        fit.Should().Throw<ArgumentException>().Which.Message.Should().Contain("[-1, 1]").And.Contain("127.5");

        detector.Fit(new TensorImageSource(Synthetic.Textures(12, 32, 1, false)));
        var score = () => detector.Score(eightBit[0]);
        score.Should().Throw<ArgumentException>().Which.Message.Should().Contain("[-1, 1]");
    }

    [Test]
    public void Too_few_held_back_images_warn_in_the_log_the_summary_and_the_model_description()
    {
        using var scope = NewDisposeScope();
        var logger = new ListLogger();
        using var detector = Small().WithChannels(1).WithLogger(logger).Build();
        var summary = detector.Fit(new TensorImageSource(Synthetic.Textures(24, 32, 1, false)));

        summary.ValidationImages.Should().Be(2, "10 % of 24 images are held back");
        summary.Warnings.Should().ContainSingle().Which.Should().Contain("2 normal images").And.Contain("fewer than 10");
        logger.Warnings.Should().ContainSingle().Which.Should().Contain("2 normal images");
        detector.Summary().Should().Contain("warning: the threshold comes from 2 normal images");

        string path = Path.Combine(dir, "few.daad");
        detector.Save(path);
        using var loaded = AnomalyDetector.Load(path);
        loaded.Summary().Should().Contain("warning: the threshold comes from 2 normal images", "daad info prints this summary");
    }

    [Test]
    public void Enough_held_back_images_give_no_warning()
    {
        using var scope = NewDisposeScope();
        var logger = new ListLogger();
        using var detector = Small().WithChannels(1).WithLogger(logger).Build();
        var summary = detector.Fit(new TensorImageSource(Synthetic.Textures(100, 32, 1, false)));
        summary.ValidationImages.Should().Be(10);
        summary.Warnings.Should().BeEmpty();
        logger.Warnings.Should().BeEmpty();
        detector.Summary().Should().NotContain("warning");
    }

    [Test]
    public void Every_public_record_that_holds_a_collection_prints_it_readably()
    {
        var assemblies = new[] { typeof(DaadOptions).Assembly, typeof(DaadBuilder).Assembly, typeof(OnnxAnomalyScorer).Assembly, typeof(Datasets).Assembly };
        var records = assemblies.SelectMany(a => a.GetExportedTypes())
            .Where(t => t.GetMethod("<Clone>$") is not null)
            .ToList();
        records.Should().NotBeEmpty();
        var offenders = records
            .Where(t => t.GetProperties().Any(p => p.PropertyType != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(p.PropertyType)))
            .Where(t => t.GetMethod("PrintMembers", BindingFlags.NonPublic | BindingFlags.Instance, new[] { typeof(System.Text.StringBuilder) })?.GetCustomAttribute<CompilerGeneratedAttribute>() is not null)
            .Select(t => t.FullName)
            .ToList();
        offenders.Should().BeEmpty("a compiler-written ToString prints a collection as its type name");

        using var scope = NewDisposeScope();
        using var detector = Small().WithChannels(1).Build();
        var summary = detector.Fit(new TensorImageSource(Synthetic.Textures(12, 32, 1, false)));
        var result = detector.Score(Synthetic.Textures(1, 32, 5, false)[0]).Single();
        foreach (string text in new[] { summary.ToString(), result.ToString(), summary.Calibration.ToString() })
        {
            text.Should().NotContain("System.").And.NotContain("`1");
        }

        summary.ToString().Should().Contain("History = [");
        result.ToString().Should().Contain("AnomalyMap = float[1024]");
    }

    [Test]
    public void A_model_file_given_to_the_other_loader_names_the_right_one()
    {
        using var scope = NewDisposeScope();
        using var detector = Small().WithChannels(1).Build();
        detector.Fit(new TensorImageSource(Synthetic.Textures(12, 32, 1, false)));
        string daad = Path.Combine(dir, "m.daad"), onnx = Path.Combine(dir, "m.onnx");
        detector.Save(daad);
        detector.ExportOnnx(onnx);

        var onnxLoader = () => OnnxAnomalyScorer.Load(daad);
        onnxLoader.Should().Throw<InvalidDataException>().Which.Message.Should().Contain("m.daad").And.Contain("AnomalyDetector.Load");
        var daadLoader = () => AnomalyDetector.Load(onnx);
        daadLoader.Should().Throw<InvalidDataException>().Which.Message.Should().Contain("m.onnx").And.Contain("OnnxAnomalyScorer.Load");
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Warnings { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                Warnings.Add(formatter(state, exception));
            }
        }
    }
}
