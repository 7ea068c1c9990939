using System.Globalization;
using DivideAssemble.Evaluation;
using SkiaSharp;

namespace DivideAssemble.Reports;

/// <summary>PNG pictures of an evaluation: ROC curve, score histograms, and per-image panels.</summary>
public static class ReportPictures
{
    private const int Tile = 256;

    /// <summary>
    /// Writes the charts (<see cref="WriteCharts"/>) and <paramref name="panels"/> panels for the most
    /// informative test images: top-scoring anomalies, the highest-scoring normals and the lowest-scoring
    /// anomalies. Returns the number of files written.
    /// </summary>
    public static int WriteAll(IAnomalyScorer scorer, ILabeledImageSource test, EvaluationReport report, string folder, int panels)
    {
        int count = WriteCharts(report, folder).Count;
        if (panels <= 0)
        {
            return count;
        }

        var anomalous = report.Images.Where(r => r.Label == 1).OrderByDescending(r => r.Score).ToList();
        var normal = report.Images.Where(r => r.Label == 0).OrderByDescending(r => r.Score).ToList();
        var chosen = new List<(ImageRecord Record, string Why)>();
        chosen.AddRange(anomalous.Take((panels + 1) / 2).Select(r => (r, "top anomalous")));
        chosen.AddRange(normal.Take(panels / 4 == 0 ? 1 : panels / 4).Select(r => (r, "highest normal")));
        chosen.AddRange(anomalous.AsEnumerable().Reverse().Take(Math.Max(1, panels - chosen.Count)).Select(r => (r, "lowest anomalous")));
        chosen = chosen.DistinctBy(c => c.Record.Index).Take(panels).ToList();

        int size = scorer.ImageSize, channels = scorer.Channels;
        var results = new List<(ImageRecord Record, string Why, float[] Input, AnomalyResult Result)>();
        foreach (var (record, why) in chosen)
        {
            var input = new float[channels * size * size];
            test.Read(record.Index, channels, size, input);
            var result = scorer.Score(new FloatImage(channels, size, size, input));
            results.Add((record, why, input, result));
        }

        double scale = results.Count == 0 ? 1 : results.Max(r => r.Result.AnomalyMap.Max());
        int k = 0;
        foreach (var (record, why, input, result) in results)
        {
            string name = record.Path is null ? $"#{record.Index}" : Path.GetFileName(Path.GetDirectoryName(record.Path)) + "/" + Path.GetFileName(record.Path);
            string file = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"panel-{k++:D2}-{(record.Label == 1 ? "anomalous" : "normal")}-{record.Index}.png"));
            WritePanel(file, input, result, test.ReadMask(record.Index), scale,
                string.Create(CultureInfo.InvariantCulture, $"{name} ({why}) score {result.Score:F2}, {(result.IsAnomalous ? "anomalous" : "normal")}"));
            count++;
        }

        return count;
    }

    /// <summary>Writes <c>roc.png</c> and <c>histogram.png</c> for <paramref name="report"/> into <paramref name="folder"/>; returns their paths.</summary>
    public static IReadOnlyList<string> WriteCharts(EvaluationReport report, string folder)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(folder);
        var scores = report.Images.Select(i => i.Score).ToArray();
        var labels = report.Images.Select(i => i.Label).ToArray();

        var roc = Metrics.Roc(scores, labels);
        var rocPlot = new ScottPlot.Plot();
        var line = rocPlot.Add.Scatter(roc.FalsePositiveRates.ToArray(), roc.TruePositiveRates.ToArray());
        line.LegendText = $"AUROC {report.ImageAuroc:F3}";
        line.MarkerSize = 0;
        line.LineWidth = 2;
        var chance = rocPlot.Add.Line(0, 0, 1, 1);
        chance.LinePattern = ScottPlot.LinePattern.Dashed;
        chance.Color = ScottPlot.Colors.Gray;
        rocPlot.Title($"Image-level ROC ({report.NormalImages} normal, {report.AnomalousImages} anomalous)");
        rocPlot.XLabel("false-positive rate");
        rocPlot.YLabel("true-positive rate");
        rocPlot.Axes.SetLimits(0, 1, 0, 1.02);
        rocPlot.ShowLegend(ScottPlot.Alignment.LowerRight);
        string rocPath = Path.Combine(folder, "roc.png");
        Save(rocPlot, rocPath, 640, 520);

        var hist = new ScottPlot.Plot();
        double min = scores.Min(), max = scores.Max();
        if (report.Threshold is { } th && double.IsFinite(th))
        {
            min = Math.Min(min, th);
            max = Math.Max(max, th);
        }

        int bins = Math.Clamp(scores.Length / 4, 10, 50);
        double width = (max - min) / bins;
        if (width <= 0)
        {
            width = 1;
        }

        AddHistogram(hist, scores.Where((_, i) => labels[i] == 0), min, width, bins, ScottPlot.Colors.SteelBlue, "normal");
        AddHistogram(hist, scores.Where((_, i) => labels[i] == 1), min, width, bins, ScottPlot.Colors.OrangeRed, "anomalous");
        if (report.Threshold is { } t && double.IsFinite(t))
        {
            var v = hist.Add.VerticalLine(t);
            v.LegendText = "calibrated threshold";
            v.LinePattern = ScottPlot.LinePattern.Dashed;
            v.Color = ScottPlot.Colors.Black;
        }

        hist.Title("Anomaly scores of test images");
        hist.XLabel("score");
        hist.YLabel("images");
        hist.ShowLegend(ScottPlot.Alignment.UpperRight);
        hist.Axes.Margins(bottom: 0);
        string histPath = Path.Combine(folder, "histogram.png");
        Save(hist, histPath, 640, 420);
        return new[] { rocPath, histPath };
    }

    /// <summary>
    /// Writes a panel for one image: input, reconstruction, anomaly heat map over the input (with the
    /// predicted defect contour in red) and the ground-truth contour in green when a mask is given.
    /// </summary>
    /// <param name="path">The PNG to write.</param>
    /// <param name="input">The input, channel-major, values in [-1, 1], at the model's size.</param>
    /// <param name="result">The image's result.</param>
    /// <param name="groundTruth">The ground-truth mask (any size), or <see langword="null"/>.</param>
    /// <param name="mapScale">The map value drawn at full heat (0 uses the image's maximum).</param>
    /// <param name="title">A caption.</param>
    public static void WritePanel(string path, float[] input, AnomalyResult result, BinaryMask? groundTruth, double mapScale, string title)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(result);
        int s = result.Size, c = result.Channels;
        int tiles = 3;
        int captionHeight = 44;
        var info = new SKImageInfo((tiles * Tile) + ((tiles + 1) * 8), Tile + captionHeight + 16);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);

        using var inputImage = ToImage(input, c, s, null);
        using var reconImage = ToImage(result.Reconstruction, c, s, null);
        double scale = mapScale > 0 ? mapScale : Math.Max(1e-12, result.AnomalyMap.Max());
        using var overlay = ToImage(input, c, s, (result.AnomalyMap, scale));
        var sampling = new SKSamplingOptions(SKFilterMode.Linear);
        for (int k = 0; k < tiles; k++)
        {
            var image = k switch { 0 => inputImage, 1 => reconImage, _ => overlay };
            canvas.DrawImage(image, new SKRect(8 + (k * (Tile + 8)), 8, 8 + (k * (Tile + 8)) + Tile, 8 + Tile), sampling);
        }

        // Contours on the overlay tile.
        float x0 = 8 + (2 * (Tile + 8)), y0 = 8;
        DrawContour(canvas, result.DefectMask, s, s, x0, y0, SKColors.Red);
        if (groundTruth is not null)
        {
            DrawContour(canvas, groundTruth.Pixels, groundTruth.Width, groundTruth.Height, x0, y0, SKColors.Lime);
        }

        using var typeface = LoadTypeface();
        if (typeface is not null)
        {
            using var font = new SKFont(typeface, 14);
            using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            canvas.DrawText(title, 8, Tile + 30, font, paint);
            using var small = new SKFont(typeface, 12);
            canvas.DrawText("input · reconstruction · anomaly map (red: predicted defect, green: ground truth)", 8, Tile + 48, small, paint);
        }

        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, png.AsSpan());
    }

    private static void AddHistogram(ScottPlot.Plot plot, IEnumerable<double> values, double min, double width, int bins, ScottPlot.Color color, string label)
    {
        var counts = new double[bins];
        foreach (double v in values)
        {
            counts[Math.Clamp((int)((v - min) / width), 0, bins - 1)]++;
        }

        var positions = Enumerable.Range(0, bins).Select(i => min + ((i + 0.5) * width)).ToArray();
        var bars = plot.Add.Bars(positions, counts);
        foreach (var bar in bars.Bars)
        {
            bar.Size = width;
            bar.FillColor = color.WithAlpha(0.55);
            bar.LineWidth = 0;
        }

        bars.LegendText = label;
    }

    private static void Save(ScottPlot.Plot plot, string path, int width, int height)
    {
        byte[] png = plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
    }

    private static SKImage ToImage(float[] chw, int channels, int size, (float[] Map, double Scale)? heat)
    {
        var info = new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new byte[size * size * 4];
        int plane = size * size;
        for (int p = 0; p < plane; p++)
        {
            float r = chw[p], g = channels >= 3 ? chw[plane + p] : r, b = channels >= 3 ? chw[(2 * plane) + p] : r;
            double R = (r + 1) * 127.5, G = (g + 1) * 127.5, B = (b + 1) * 127.5;
            if (heat is { } h)
            {
                double t = Math.Clamp(h.Map[p] / h.Scale, 0, 1);
                var (hr, hg, hb) = Jet(t);
                double alpha = 0.25 + (0.45 * t);
                double grey = (0.299 * R) + (0.587 * G) + (0.114 * B);
                R = ((1 - alpha) * grey) + (alpha * hr);
                G = ((1 - alpha) * grey) + (alpha * hg);
                B = ((1 - alpha) * grey) + (alpha * hb);
            }

            pixels[4 * p] = (byte)Math.Clamp(R, 0, 255);
            pixels[(4 * p) + 1] = (byte)Math.Clamp(G, 0, 255);
            pixels[(4 * p) + 2] = (byte)Math.Clamp(B, 0, 255);
            pixels[(4 * p) + 3] = 255;
        }

        using var data = SKData.CreateCopy(pixels);
        return SKImage.FromPixels(info, data, info.RowBytes);
    }

    private static (double R, double G, double B) Jet(double t)
    {
        double r = Math.Clamp(1.5 - Math.Abs((4 * t) - 3), 0, 1);
        double g = Math.Clamp(1.5 - Math.Abs((4 * t) - 2), 0, 1);
        double b = Math.Clamp(1.5 - Math.Abs((4 * t) - 1), 0, 1);
        return (r * 255, g * 255, b * 255);
    }

    private static void DrawContour(SKCanvas canvas, bool[] mask, int width, int height, float x0, float y0, SKColor color)
    {
        using var paint = new SKPaint { Color = color, Style = SKPaintStyle.Fill, IsAntialias = false };
        float sx = (float)Tile / width, sy = (float)Tile / height;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                if (!mask[(y * width) + x])
                {
                    continue;
                }

                bool edge = x == 0 || y == 0 || x == width - 1 || y == height - 1
                    || !mask[(y * width) + x - 1] || !mask[(y * width) + x + 1] || !mask[((y - 1) * width) + x] || !mask[((y + 1) * width) + x];
                if (edge)
                {
                    canvas.DrawRect(x0 + (x * sx), y0 + (y * sy), Math.Max(1.5f, sx), Math.Max(1.5f, sy), paint);
                }
            }
        }
    }

    private static SKTypeface? LoadTypeface()
    {
        var typeface = SKTypeface.Default;
        if (typeface is not null && typeface.GlyphCount > 0)
        {
            return typeface;
        }

        foreach (string dir in new[] { "/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "C:\\Windows\\Fonts" })
        {
            if (!Directory.Exists(dir))
            {
                continue;
            }

            string? file = Directory.EnumerateFiles(dir, "*.ttf", SearchOption.AllDirectories)
                .OrderBy(f => Path.GetFileName(f).Contains("DejaVuSans.ttf", StringComparison.Ordinal) ? 0 : 1)
                .FirstOrDefault();
            if (file is not null)
            {
                return SKTypeface.FromFile(file);
            }
        }

        return null;
    }
}
