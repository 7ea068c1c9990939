using System.Globalization;
using DivideAssemble.Imaging;

namespace DivideAssemble.Cli;

/// <summary>Evaluation with report and pictures, shared by <c>eval</c>, <c>compare</c> and the samples.</summary>
internal static class Evaluation
{
    public static EvaluationReport Run(IAnomalyDetector detector, AnomalyDataset data, string? reportPath, string? picturesFolder, int panels, TextWriter stdout)
    {
        var report = Evaluator.Evaluate(detector, data.Test, data.Description);
        if (reportPath is not null)
        {
            report.Save(reportPath);
            stdout.WriteLine($"report written to {reportPath} and {Path.ChangeExtension(reportPath, ".md")}");
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"image AUROC {report.ImageAuroc:F4}, pixel AUROC {Format(report.PixelAuroc)}, AUPRO {Format(report.Aupro)}, F1-max {report.F1Max:F4}, AP {report.AveragePrecision:F4}, accuracy at threshold {Format(report.Accuracy)}"));
        if (picturesFolder is not null)
        {
            var written = WritePictures(detector, data.Test, report, picturesFolder, panels);
            stdout.WriteLine($"pictures written to {picturesFolder} ({written} files)");
        }

        return report;
    }

    /// <summary>Writes the charts and panels for the most informative images: top-scoring anomalies, the highest-scoring normals and the lowest-scoring anomalies.</summary>
    public static int WritePictures(IAnomalyDetector detector, ILabeledImageSource test, EvaluationReport report, string folder, int panels)
    {
        int count = ReportPictures.WriteCharts(report, folder).Count;
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

        int size = detector.ImageSize, channels = detector.Channels;
        var results = new List<(ImageRecord Record, string Why, float[] Input, AnomalyResult Result)>();
        foreach (var (record, why) in chosen)
        {
            var input = new float[channels * size * size];
            test.Read(record.Index, channels, size, input);
            using var scope = TorchSharp.torch.NewDisposeScope();
            var result = detector.Score(TorchSharp.torch.tensor(input, new long[] { 1, channels, size, size }))[0];
            results.Add((record, why, input, result));
        }

        double scale = results.Count == 0 ? 1 : results.Max(r => r.Result.AnomalyMap.Max());
        int k = 0;
        foreach (var (record, why, input, result) in results)
        {
            string name = record.Path is null ? $"#{record.Index}" : Path.GetFileName(Path.GetDirectoryName(record.Path)) + "/" + Path.GetFileName(record.Path);
            string file = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"panel-{k++:D2}-{(record.Label == 1 ? "anomalous" : "normal")}-{record.Index}.png"));
            ReportPictures.WritePanel(file, input, result, test.ReadMask(record.Index), scale,
                string.Create(CultureInfo.InvariantCulture, $"{name} ({why}) score {result.Score:F2}, {(result.IsAnomalous ? "anomalous" : "normal")}"));
            count++;
        }

        return count;
    }

    internal static string Format(double? value) => value is null ? "n/a" : value.Value.ToString("F4", CultureInfo.InvariantCulture);
}
