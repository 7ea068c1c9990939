using System.Text.Json;
using DivideAssemble.Imaging;
using DivideAssemble.Reports;
using FluentAssertions;
using NUnit.Framework;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

public sealed class ReportTests : TempFolderTest
{
    [Test]
    public void Report_json_has_the_documented_fields_nulls_for_missing_masks_and_round_trip_scores()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Trained(ModelVariant.Daad, epochs: 1);
        var images = cat(new[] { Synthetic.Textures(5, 32, 21, false), Synthetic.Textures(5, 32, 22, true) });
        var test = new TensorImageSource(images, Enumerable.Repeat(0, 5).Concat(Enumerable.Repeat(1, 5)).ToList());

        var report = Evaluator.Evaluate(detector, test, "synthetic");
        string path = Path.Combine(dir, "out", "report.json");
        report.Save(path);

        Directory.GetFiles(Path.Combine(dir, "out")).Select(Path.GetFileName).Should().BeEquivalentTo(new[] { "report.json", "report.md" });
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var root = json.RootElement;
        foreach (string name in new[] { "imageAuroc", "pixelAuroc", "aupro", "f1Max", "f1Threshold", "threshold", "images" })
        {
            root.TryGetProperty(name, out _).Should().BeTrue($"the report has '{name}'");
        }

        root.GetProperty("pixelAuroc").ValueKind.Should().Be(JsonValueKind.Null);
        root.GetProperty("aupro").ValueKind.Should().Be(JsonValueKind.Null);
        root.GetProperty("threshold").GetDouble().Should().Be(detector.Calibration!.Threshold);
        var records = root.GetProperty("images").EnumerateArray().ToList();
        records.Should().HaveCount(10);
        records.Select(r => r.GetProperty("label").GetInt32()).Should().Equal(0, 0, 0, 0, 0, 1, 1, 1, 1, 1);
        records.Select(r => r.GetProperty("index").GetInt32()).Should().Equal(Enumerable.Range(0, 10));
        records.Select(r => r.GetProperty("score").GetDouble()).Should().Equal(report.Images.Select(i => i.Score), "scores are written at full round-trip precision");
        File.ReadAllText(Path.ChangeExtension(path, ".md")).Should().Contain("| image AUROC |").And.Contain("n/a");
        EvaluationReport.Load(path).ImageAuroc.Should().Be(report.ImageAuroc);
    }

    [Test]
    public void Evaluation_with_masks_fills_pixel_metrics_and_pictures_are_pngs()
    {
        TestImages.MvtecCategory(dir, "tiny", train: 16, good: 3, defects: new[] { "blob" }, perDefect: 4, size: 32);
        var data = Datasets.Mvtec(dir, "tiny");
        using var detector = DetectorTests.Builder(ModelVariant.Daad, epochs: 1).Build();
        detector.Fit(data.Train);
        var results = new AnomalyResult[data.Test.Count];
        var report = Evaluator.Evaluate(detector, data.Test, data.Description, (i, r) => results[i] = r);
        report.NormalImages.Should().Be(3);
        report.AnomalousImages.Should().Be(4);
        report.Images.Should().OnlyContain(i => i.Path != null && i.Path.EndsWith(".png", StringComparison.Ordinal));
        report.Images.Select(i => i.Score).Should().Equal(results.Select(r => r.Score));
        report.ImageAuroc.Should().Be(Metrics.Auroc(results.Select(r => r.Score).ToList(), report.Images.Select(i => i.Label).ToList()));

        // Pixel AUROC: the exact value over every test pixel (maps and masks are both 32×32 here), to the accumulator's 1e-4.
        var pixelScores = new List<double>();
        var pixelLabels = new List<int>();
        for (int i = 0; i < results.Length; i++)
        {
            var mask = data.Test.ReadMask(i)!;
            pixelScores.AddRange(results[i].AnomalyMap.Select(v => (double)v));
            pixelLabels.AddRange(mask.Pixels.Select(p => p ? 1 : 0));
        }

        report.PixelAuroc.Should().BeApproximately(Metrics.Auroc(pixelScores, pixelLabels), 1e-4);
        report.Aupro.Should().BeInRange(0, 1);
        report.Images.Where(i => i.Label == 1).Select(i => i.Score).Average().Should().BeGreaterThan(report.Images.Where(i => i.Label == 0).Select(i => i.Score).Average(), "the white squares are found after one epoch");

        string pictures = Path.Combine(dir, "pictures");
        var charts = ReportPictures.WriteCharts(report, pictures);
        var input = new float[32 * 32];
        data.Test.Read(0, 1, 32, input);
        var result = detector.Score(data.Test.GetName(0));
        string panel = Path.Combine(pictures, "panel.png");
        ReportPictures.WritePanel(panel, input, result, data.Test.ReadMask(0), 0, "test");
        charts.Select(Path.GetFileName).Should().OnlyHaveUniqueItems().And.HaveCountGreaterThanOrEqualTo(2);
        foreach (string file in charts.Append(panel))
        {
            var decoded = ImageDecoder.Decode(file);
            decoded.Width.Should().BeGreaterThan(200, file);
            decoded.Rgba.Distinct().Count().Should().BeGreaterThan(2, $"{file} is drawn, not blank");
        }
    }

    [Test]
    public void Scoring_files_streams_and_pixel_buffers_agree()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Trained(ModelVariant.Daad, epochs: 1);
        string file = TestImages.Write(Path.Combine(dir, "x.png"), 32, 32, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKEncodedImageFormat.Png, (x, y) => ((byte)((x * 7) + (y * 3)), 0, 0, 255));
        var fromFile = detector.Score(file);
        using var stream = File.OpenRead(file);
        var fromStream = detector.Score(stream);
        var decoded = ImageDecoder.Decode(file);
        var grey = Enumerable.Range(0, 32 * 32).Select(p => decoded.Rgba[4 * p]).ToArray();
        var fromPixels = detector.Score(FloatImage.FromPixels(grey, 32, 32, PixelFormat.Gray8));
        fromStream.Score.Should().Be(fromFile.Score);
        fromPixels.Score.Should().BeApproximately(fromFile.Score, 1e-9);
        FluentActions.Invoking(() => FloatImage.FromPixels(new byte[10], 32, 32, PixelFormat.Rgb24)).Should().Throw<ArgumentException>().WithMessage("*needs 3072 bytes*has 10*");
    }
}
