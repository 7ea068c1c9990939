using System.Globalization;
using DivideAssemble.Evaluation;
using DivideAssemble.Imaging;
using DivideAssemble.Reports;

namespace DivideAssemble.Cli;

/// <summary>Evaluation with report and pictures, shared by <c>eval</c>, <c>compare</c> and the samples.</summary>
internal static class EvaluationCommand
{
    public static EvaluationReport Run(IAnomalyScorer scorer, AnomalyDataset data, string? reportPath, string? picturesFolder, int panels, TextWriter stdout)
    {
        var report = Evaluator.Evaluate(scorer, data.Test, data.Description);
        if (reportPath is not null)
        {
            report.Save(reportPath);
            stdout.WriteLine($"report written to {reportPath} and {Path.ChangeExtension(reportPath, ".md")}");
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"image AUROC {report.ImageAuroc:F4}, pixel AUROC {Format(report.PixelAuroc)}, AUPRO {Format(report.Aupro)}, F1-max {report.F1Max:F4}, AP {report.AveragePrecision:F4}, accuracy at threshold {Format(report.Accuracy)}"));
        if (picturesFolder is not null)
        {
            var written = ReportPictures.WriteAll(scorer, data.Test, report, picturesFolder, panels);
            stdout.WriteLine($"pictures written to {picturesFolder} ({written} files)");
        }

        return report;
    }

    internal static string Format(double? value) => value is null ? "n/a" : value.Value.ToString("F4", CultureInfo.InvariantCulture);
}
