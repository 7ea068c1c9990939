using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;

namespace DivideAssemble.Tests;

/// <summary>Metrics against values computed by scikit-learn and an exact AUPRO reference (Fixtures/make_metric_fixtures.py).</summary>
public sealed class MetricsTests
{
    private static readonly JsonDocument Fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "metrics.json")));

    public static IEnumerable<TestCaseData> ImageCases() =>
        Fixture.RootElement.GetProperty("image").EnumerateArray().Select(c => new TestCaseData(c.GetProperty("name").GetString()).SetName("Image metrics: " + c.GetProperty("name").GetString()));

    [TestCaseSource(nameof(ImageCases))]
    public void Image_metrics_match_scikit_learn(string name)
    {
        var c = Fixture.RootElement.GetProperty("image").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var scores = c.GetProperty("scores").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var labels = c.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        Metrics.Auroc(scores, labels).Should().BeApproximately(c.GetProperty("auroc").GetDouble(), 1e-12);
        Metrics.AveragePrecision(scores, labels).Should().BeApproximately(c.GetProperty("averagePrecision").GetDouble(), 1e-12);
        var (f1, threshold) = Metrics.F1Max(scores, labels);
        f1.Should().BeApproximately(c.GetProperty("f1Max").GetDouble(), 1e-12);
        threshold.Should().Be(c.GetProperty("f1Threshold").GetDouble());
    }

    [Test]
    public void Pixel_auroc_and_aupro_match_the_exact_reference()
    {
        var c = Fixture.RootElement.GetProperty("pixel")[0];
        int size = c.GetProperty("size").GetInt32();
        var acc = new PixelMetricsAccumulator();
        var maps = c.GetProperty("maps").EnumerateArray().ToList();
        var masks = c.GetProperty("masks").EnumerateArray().ToList();
        for (int i = 0; i < maps.Count; i++)
        {
            var map = maps[i].EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            var mask = masks[i].EnumerateArray().Select(e => e.GetInt32() == 1).ToArray();
            acc.Add(map, new BinaryMask(size, size, mask));
        }

        acc.PixelAuroc()!.Value.Should().BeApproximately(c.GetProperty("pixelAuroc").GetDouble(), 1e-4);
        acc.Aupro()!.Value.Should().BeApproximately(c.GetProperty("aupro").GetDouble(), 1e-3);
    }

    [Category("Slow")]
    [Test]
    public void Streaming_pixel_auroc_is_within_1e_4_of_the_exact_value_on_a_million_pixels()
    {
        var rng = new Random(5);
        const int images = 16, size = 256;
        var acc = new PixelMetricsAccumulator();
        var all = new List<(double Score, int Label)>(images * size * size);
        for (int i = 0; i < images; i++)
        {
            var map = new float[size * size];
            var mask = new bool[size * size];
            for (int p = 0; p < map.Length; p++)
            {
                mask[p] = (p / size) % 64 < 6 && (p % size) % 80 < 9 && i % 4 != 0;
                double v = Math.Exp((rng.NextDouble() * 6) - 8) + (mask[p] ? rng.NextDouble() * 0.01 : 0);
                map[p] = (float)v;
                all.Add((map[p], mask[p] ? 1 : 0));
            }

            acc.Add(map, new BinaryMask(size, size, mask));
        }

        double exact = Metrics.Auroc(all.Select(a => a.Score).ToArray(), all.Select(a => a.Label).ToArray());
        acc.PixelAuroc()!.Value.Should().BeApproximately(exact, 1e-4);
    }

    [Test]
    public void One_class_only_is_a_clear_error()
    {
        var act = () => Metrics.Auroc(new[] { 0.1, 0.2 }, new[] { 1, 1 });
        act.Should().Throw<ArgumentException>().WithMessage("*both normal and anomalous*0 normal and 2 anomalous*");
        FluentActions.Invoking(() => Metrics.Auroc(new[] { 0.1 }, new[] { 0, 1 })).Should().Throw<ArgumentException>().WithMessage("*1 scores but 2 labels*");
        FluentActions.Invoking(() => Metrics.Auroc(new[] { double.NaN, 1 }, new[] { 0, 1 })).Should().Throw<ArgumentException>().WithMessage("*finite*");
        FluentActions.Invoking(() => Metrics.Auroc(new[] { 0.0, 1 }, new[] { 0, 2 })).Should().Throw<ArgumentException>().WithMessage("*0 (normal) or 1*");
    }

    [Test]
    public void Pixel_metrics_without_anomalous_pixels_do_not_apply()
    {
        var acc = new PixelMetricsAccumulator();
        acc.Add(new float[4], new BinaryMask(2, 2, new bool[4]));
        acc.PixelAuroc().Should().BeNull();
        acc.Aupro().Should().BeNull();
        FluentActions.Invoking(() => acc.Add(new float[5], new BinaryMask(2, 2, new bool[4]))).Should().Throw<ArgumentException>().WithMessage("*5 pixels*2×2*");
    }
}
