using System.Globalization;
using System.Text;

namespace DivideAssemble.Samples.Reproduce;

/// <summary>Builds tables.md and the sweep plots from the run files alone (no training).</summary>
internal static class Tables
{
    private static readonly string[] VariantNames = { "AE", "AE + skip", "MemAE", "DAAD", "DAAD+" };

    public static string Write(ResultStore store, string output)
    {
        var runs = Plan.All();
        RunResult? Get(string group, string name) => runs.FirstOrDefault(r => r.Group == group && r.Name == name) is { } spec ? store.Find(spec) : null;

        var sb = new StringBuilder();
        sb.AppendLine("# Result tables (generated)");
        sb.AppendLine();
        sb.AppendLine("Written by `dotnet run --project samples/Reproduce -c Release` from the JSON files next to this one; do not edit by hand.");
        sb.AppendLine("A dash means the run has not finished yet. `floor` scores each test image by its mean squared distance to the mean training image.");
        sb.AppendLine();

        // Selection runs (validation splits only).
        sb.AppendLine("## Selection on validation splits");
        sb.AppendLine();
        sb.AppendLine("MNIST digit 3, validation split (first 70 % of each class trains, next 10 % tests; the test 20 % is never read):");
        sb.AppendLine();
        Simple(sb, runs.Where(r => r.Group == "mnist-selection").Select(r => (r.Name, store.Find(r))), pixel: false);
        sb.AppendLine("Grass, synthetic-defect validation split (every fifth training image held back, shown as it is and with a painted defect; the test folder is never read):");
        sb.AppendLine();
        Simple(sb, runs.Where(r => r.Group == "grass-selection").Select(r => (r.Name, store.Find(r))), pixel: true);

        // MNIST per class.
        sb.AppendLine(CultureInfo.InvariantCulture, $"## One-class MNIST (32×32, 15 epochs, seed 0; DAAD and DAAD+ division {Plan.MnistDivision})");
        sb.AppendLine();
        sb.AppendLine("| normal digit | floor | " + string.Join(" | ", VariantNames) + " |");
        sb.AppendLine("|---" + string.Concat(Enumerable.Repeat("|---", VariantNames.Length + 1)) + "|");
        var columns = new[] { "floor" }.Concat(Plan.Variants).ToArray();
        var sums = new double[columns.Length];
        var counts = new int[columns.Length];
        for (int k = 0; k < 10; k++)
        {
            var cells = new List<string>();
            var values = columns.Select(c => Get("mnist", $"class{k}-{c}")?.ImageAuroc).ToArray();
            double? best = values.Skip(1).Max();
            for (int c = 0; c < columns.Length; c++)
            {
                if (values[c] is { } v)
                {
                    sums[c] += v;
                    counts[c]++;
                }

                cells.Add(Cell(values[c], c > 0 && values[c] is not null && values[c] == best, c > 0 && values[c] < values[0]));
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"| {k} | {string.Join(" | ", cells)} |");
        }

        var means = sums.Select((s, c) => counts[c] == 10 ? s / 10 : (double?)null).ToArray();
        double? bestMean = means.Skip(1).Max();
        sb.AppendLine("| **mean** | " + string.Join(" | ", means.Select((m, c) => Cell(m, c > 0 && m is not null && m == bestMean, c > 0 && m < means[0]))) + " |");
        sb.AppendLine();
        sb.AppendLine("Bold: best trained variant in the row; *italic*: below the floor.");
        sb.AppendLine();

        // Grass variants over seeds.
        sb.AppendLine(CultureInfo.InvariantCulture, $"## Grass (128×128, 20 epochs; DAAD and DAAD+ division {Plan.GrassDivision}; mean ± std over seeds 0, 1, 2)");
        sb.AppendLine();
        sb.AppendLine("| variant | image AUROC | pixel AUROC | AUPRO | seeds | train s (seed 0) |");
        sb.AppendLine("|---|---|---|---|---|---|");
        if (Get("grass", "floor") is { } floor)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| floor | {floor.ImageAuroc:F3} | {Fmt(floor.PixelAuroc)} | {Fmt(floor.Aupro)} | — | 0 |");
        }

        for (int v = 0; v < Plan.Variants.Length; v++)
        {
            var seeds = Enumerable.Range(0, 3).Select(s => Get("grass", $"{Plan.Variants[v]}-seed{s}")).Where(r => r is not null).Select(r => r!).ToList();
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {VariantNames[v]} | {MeanStd(seeds.Select(r => r.ImageAuroc))} | {MeanStd(seeds.Select(r => r.PixelAuroc ?? double.NaN))} | {MeanStd(seeds.Select(r => r.Aupro ?? double.NaN))} | {seeds.Count} | {(seeds.FirstOrDefault(r => r.Seed == 0)?.TrainSeconds is { } t ? t.ToString("F0", CultureInfo.InvariantCulture) : "—")} |");
        }

        sb.AppendLine();

        // Sweeps.
        var division = runs.Where(r => r.Group == "grass-division").Select(r => (r.Name, Result: store.Find(r))).ToList();
        sb.AppendLine("## Grass block division (DAAD, seed 0)");
        sb.AppendLine();
        Sweep(sb, "division (height, width, channel ratio)", division.Select(d => (d.Name.Replace('-', ','), d.Result)));
        var memory = runs.Where(r => r.Group == "grass-memory").Select(r => (r.Name, Result: store.Find(r))).ToList();
        sb.AppendLine("## Grass memory size N (DAAD, seed 0)");
        sb.AppendLine();
        Sweep(sb, "N", memory.Select(m => (m.Name[1..], m.Result)));
        var temperature = runs.Where(r => r.Group == "grass-temperature").Select(r => (r.Name, Result: store.Find(r))).ToList();
        sb.AppendLine("## Grass memory temperature T (DAAD, seed 0)");
        sb.AppendLine();
        Sweep(sb, "T", temperature.Select(t => (t.Name[1..], t.Result)));

        Plot(Path.Combine(output, "block-size.png"), "Grass: block division (DAAD, channel ratio 1)", "spatial ratio (blocks per side; 'pixel' = 1×1 blocks)",
            division.Where(d => d.Name.EndsWith("-1", StringComparison.Ordinal) || d.Name == "pixel").Select(d => (d.Name.Replace('-', ','), d.Result)).ToList());
        Plot(Path.Combine(output, "memory-size.png"), "Grass: memory size (DAAD, division " + Plan.GrassDivision + ")", "memory items N", memory.Select(m => (m.Name[1..], m.Result)).ToList());

        string path = Path.Combine(output, "tables.md");
        Directory.CreateDirectory(output);
        AtomicFile.WriteAllText(path, sb.ToString());
        return path;
    }

    private static void Simple(StringBuilder sb, IEnumerable<(string Name, RunResult? Result)> rows, bool pixel)
    {
        sb.AppendLine(pixel ? "| run | image AUROC | pixel AUROC | AUPRO |" : "| run | image AUROC |");
        sb.AppendLine(pixel ? "|---|---|---|---|" : "|---|---|");
        foreach (var (name, r) in rows)
        {
            sb.AppendLine(pixel
                ? $"| {name} | {Fmt(r?.ImageAuroc)} | {Fmt(r?.PixelAuroc)} | {Fmt(r?.Aupro)} |"
                : $"| {name} | {Fmt(r?.ImageAuroc)} |");
        }

        sb.AppendLine();
    }

    private static void Sweep(StringBuilder sb, string what, IEnumerable<(string Label, RunResult? Result)> rows)
    {
        sb.AppendLine(CultureInfo.InvariantCulture, $"| {what} | image AUROC | pixel AUROC | AUPRO | entropy / log N (scales 1–4) | parameters | train s |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (label, r) in rows)
        {
            string entropy = r?.AddressingEntropy is { Count: > 0 } e ? string.Join(", ", e.OrderBy(p => p.Key).Select(p => p.Value.ToString("F2", CultureInfo.InvariantCulture))) : "—";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {label} | {Fmt(r?.ImageAuroc)} | {Fmt(r?.PixelAuroc)} | {Fmt(r?.Aupro)} | {entropy} | {(r is null ? "—" : r.Parameters.ToString("N0", CultureInfo.InvariantCulture))} | {(r is null ? "—" : r.TrainSeconds.ToString("F0", CultureInfo.InvariantCulture))} |");
        }

        sb.AppendLine();
    }

    private static void Plot(string path, string title, string xLabel, IReadOnlyList<(string Label, RunResult? Result)> points)
    {
        var done = points.Select((p, i) => (p.Label, p.Result, X: (double)i)).Where(p => p.Result is not null).ToList();
        if (done.Count < 2)
        {
            return;
        }

        var plot = new ScottPlot.Plot();
        var image = plot.Add.Scatter(done.Select(p => p.X).ToArray(), done.Select(p => p.Result!.ImageAuroc).ToArray());
        image.LegendText = "image AUROC";
        var withPixel = done.Where(p => p.Result!.PixelAuroc is not null).ToList();
        if (withPixel.Count > 1)
        {
            var pixel = plot.Add.Scatter(withPixel.Select(p => p.X).ToArray(), withPixel.Select(p => p.Result!.PixelAuroc!.Value).ToArray());
            pixel.LegendText = "pixel AUROC";
            var aupro = plot.Add.Scatter(withPixel.Select(p => p.X).ToArray(), withPixel.Select(p => p.Result!.Aupro ?? double.NaN).ToArray());
            aupro.LegendText = "AUPRO";
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(points.Select((p, i) => (double)i).ToArray(), points.Select(p => p.Label).ToArray());
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel("score");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        byte[] png = plot.GetImageBytes(720, 480, ScottPlot.ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
    }

    private static string MeanStd(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).ToList();
        if (v.Count == 0)
        {
            return "—";
        }

        double mean = v.Average();
        double std = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)) : 0;
        return string.Create(CultureInfo.InvariantCulture, $"{mean:F3} ± {std:F3}");
    }

    private static string Cell(double? value, bool best, bool belowFloor)
    {
        string text = Fmt(value);
        return best ? $"**{text}**" : belowFloor ? $"*{text}*" : text;
    }

    private static string Fmt(double? value) => value is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "—";
}
