using System.Diagnostics;
using System.Globalization;
using System.Text;
using DivideAssemble.Evaluation;
using DivideAssemble.Imaging;

namespace DivideAssemble.Cli;

/// <summary>Trains and evaluates several configurations on one data set (the block-size benchmark).</summary>
internal static class Comparison
{
    public sealed record Row(string Name, string Division, long Parameters, double TrainSeconds, EvaluationReport Report);

    public static Row RunOne(string name, DaadOptions options, AnomalyDataset data, TextWriter stdout)
    {
        using var detector = DaadBuilder.Create(options).Build();
        stdout.WriteLine(detector.Summary());
        var clock = Stopwatch.StartNew();
        var summary = ProgressView.Run(stdout, p => detector.Fit(data.Train, p));
        clock.Stop();
        if (summary.AddressingEntropy.Count > 0)
        {
            stdout.WriteLine("addressing entropy / log N by scale: " + string.Join(", ", summary.AddressingEntropy.Select(e => FormattableString.Invariant($"{e.Key}: {e.Value:F3}"))));
        }

        var report = EvaluationCommand.Run(detector, data, null, null, 0, stdout);
        long parameters = detector.GeneratorParameterCount + detector.DiscriminatorParameterCount;
        var n = options.Network;
        string division = n.Variant is ModelVariant.Autoencoder or ModelVariant.AutoencoderSkip ? "—"
            : n.DescribeDivision();
        return new Row(name, division, parameters, clock.Elapsed.TotalSeconds, report);
    }

    public static string Markdown(IReadOnlyList<Row> rows, string data, DaadOptions options)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Data: {data}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Image size {options.Network.ImageSize}, width {options.Network.BaseWidth}, depth {options.Network.Depth}, N = {options.Network.MemoryItems}, T = {options.Network.MemoryTemperature}, {options.Training.Epochs} epochs, batch {options.Training.BatchSize}, seed {options.Seed}.");
        sb.AppendLine();
        sb.AppendLine("| run | variant | division | image AUROC | pixel AUROC | AUPRO | F1-max | parameters | train s |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Name} | {r.Report.Settings.Network.Variant} | {r.Division} | {r.Report.ImageAuroc:F3} | {EvaluationCommand.Format(r.Report.PixelAuroc)} | {EvaluationCommand.Format(r.Report.Aupro)} | {r.Report.F1Max:F3} | {r.Parameters:N0} | {r.TrainSeconds:F0} |");
        }

        return sb.ToString();
    }
}
