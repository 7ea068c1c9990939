using System.Globalization;
using System.Text;

namespace DivideAssemble.Reproduce;

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
        sb.AppendLine("Written by `dotnet run --project eng/Reproduce -c Release` from the JSON files next to this one; do not edit by hand.");
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

        Defaults(sb, runs, store);
        SelectionCheck(sb, runs, store);

        Plot(Path.Combine(output, "block-size.png"), "Grass: block division (DAAD, channel ratio 1)", "spatial ratio (blocks per side; 'pixel' = 1×1 blocks)",
            division.Where(d => d.Name.EndsWith("-1", StringComparison.Ordinal) || d.Name == "pixel").Select(d => (d.Name.Replace('-', ','), d.Result)).ToList());
        Plot(Path.Combine(output, "memory-size.png"), "Grass: memory size (DAAD, division " + Plan.GrassDivision + ")", "memory items N", memory.Select(m => (m.Name[1..], m.Result)).ToList());

        string path = Path.Combine(output, "tables.md");
        Directory.CreateDirectory(output);
        AtomicFile.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>The judging protocol: floor, AE, DAAD defaults, the paper's division and pooling, DAAD selected; and what selection chose and cost.</summary>
    private static void Defaults(StringBuilder sb, IReadOnlyList<RunSpec> runs, ResultStore store)
    {
        sb.AppendLine("## Library defaults, the paper's settings and `--select` (textures 128×128, 20 epochs; digits 32×32, 5 epochs; seed 1)");
        sb.AppendLine();
        sb.AppendLine("Image AUROC / pixel AUROC. *paper settings*: the library defaults with the paper's division 8,8,1 and mean pooling. *selected*: `--select` on the training images' validation split (the test split is read only to evaluate the final model).");
        sb.AppendLine();
        sb.AppendLine("| data | floor | AE | DAAD defaults | DAAD paper settings | DAAD selected | selected settings | selection + final training |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        var ids = runs.Where(r => r.Group == "defaults" && r.Name.EndsWith("-floor", StringComparison.Ordinal)).Select(r => r.Name[..^"-floor".Length]).ToList();
        RunResult? Get(string name) => runs.FirstOrDefault(r => r.Group == "defaults" && r.Name == name) is { } spec ? store.Find(spec) : null;
        static string Both(RunResult? r) => r is null ? "—" : r.PixelAuroc is { } p ? $"{Fmt(r.ImageAuroc)} / {Fmt(p)}" : Fmt(r.ImageAuroc);
        foreach (string id in ids)
        {
            var selected = Get(id + "-daad-selected");
            string choice = selected?.Selection is { } s ? $"{s.Winner.Division}, T {s.Winner.Temperature.ToString("G3", CultureInfo.InvariantCulture)}, {s.Winner.Residual}, {s.Winner.DescribePooling()}" : "—";
            string cost = selected?.Selection is { } sel
                ? FormattableString.Invariant($"{sel.SelectionSeconds:F0} s + {selected.TrainSeconds - sel.SelectionSeconds:F0} s ({selected.TrainSeconds / Math.Max(1, Get(id + "-daad")?.TrainSeconds ?? 1):F1}× a default run)")
                : "—";
            sb.AppendLine($"| {id} | {Both(Get(id + "-floor"))} | {Both(Get(id + "-ae"))} | {Both(Get(id + "-daad"))} | {Both(Get(id + "-daad-paper-division-and-pooling"))} | {Both(selected)} | {choice} | {cost} |");
        }

        sb.AppendLine();
        foreach (string id in ids)
        {
            if (Get(id + "-daad-selected")?.Selection is { } s)
            {
                sb.AppendLine($"Selection on {id}: {s.Validation}; {s.Candidates.Count} scored candidates, budget {s.BudgetSeconds.ToString("F0", CultureInfo.InvariantCulture)} s{(s.SkippedForBudget.Count > 0 ? "; not trained for the budget: " + string.Join("; ", s.SkippedForBudget) : string.Empty)}. Top five by validation image AUROC (and the chosen one):");
                sb.AppendLine();
                var five = s.Candidates.OrderByDescending(c => c.ImageAuroc).ThenByDescending(c => c.PixelAuroc ?? 0).Take(5).ToList();
                var top = new SelectionReport(five.Contains(s.Winner) ? five : five.Append(s.Winner).ToList(), s.Winner, s.Validation, s.BudgetSeconds, s.SelectionSeconds, Array.Empty<string>()) { Configured = s.Configured, RequiredGain = s.RequiredGain };
                sb.AppendLine(top.ToMarkdown());
            }
        }
    }

    /// <summary>Validation against test AUROC for every scoring of one model per division, and their rank correlation.</summary>
    private static void SelectionCheck(StringBuilder sb, IReadOnlyList<RunSpec> runs, ResultStore store)
    {
        sb.AppendLine("## Do validation splits rank settings as test splits do?");
        sb.AppendLine();
        sb.AppendLine("One DAAD model per division (on digits also an AE), trained on the validation split's training part (textures 128×128, 20 epochs; digits at 32×32, 5 epochs; seed 1), scored every way on the validation split and on the test split. ρ is Spearman's rank correlation of the two AUROC columns over all rows of the data set and model.");
        sb.AppendLine();
        foreach (var group in runs.Where(r => r.Group == "selection-check").GroupBy(r => r.Options!.Network.Variant == ModelVariant.Daad ? r.Data.Id : $"{r.Data.Id} ({r.Options.Network.Variant})"))
        {
            var rows = group.Select(store.Find).Where(r => r?.Check is not null).SelectMany(r => r!.Check!).ToList();
            if (rows.Count == 0)
            {
                sb.AppendLine($"{group.Key}: not run yet.");
                sb.AppendLine();
                continue;
            }

            double rho = Spearman(rows.Select(r => r.ValidationAuroc).ToList(), rows.Select(r => r.TestAuroc).ToList());
            var bestValidation = rows.OrderByDescending(r => r.ValidationAuroc).First();
            var bestTest = rows.OrderByDescending(r => r.TestAuroc).First();
            sb.AppendLine(CultureInfo.InvariantCulture, $"**{group.Key}**: ρ = {rho:F2} over {rows.Count} settings; best on validation {bestValidation.Division} {bestValidation.Residual} {bestValidation.Pooling} (test {Fmt(bestValidation.TestAuroc)}), best on test {bestTest.Division} {bestTest.Residual} {bestTest.Pooling} ({Fmt(bestTest.TestAuroc)}).");
            sb.AppendLine();
            sb.AppendLine("| division | residual | pooling | validation image AUROC | test image AUROC | validation pixel AUROC | test pixel AUROC |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var r in rows)
            {
                sb.AppendLine($"| {r.Division} | {r.Residual} | {r.Pooling} | {Fmt(r.ValidationAuroc)} | {Fmt(r.TestAuroc)} | {Fmt(r.ValidationPixelAuroc)} | {Fmt(r.TestPixelAuroc)} |");
            }

            sb.AppendLine();
        }
    }

    /// <summary>Spearman's rank correlation (average ranks for ties).</summary>
    internal static double Spearman(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        static double[] Ranks(IReadOnlyList<double> v)
        {
            var order = Enumerable.Range(0, v.Count).OrderBy(i => v[i]).ToArray();
            var ranks = new double[v.Count];
            for (int i = 0; i < order.Length;)
            {
                int j = i;
                while (j + 1 < order.Length && v[order[j + 1]] == v[order[i]])
                {
                    j++;
                }

                for (int k = i; k <= j; k++)
                {
                    ranks[order[k]] = (i + j) / 2.0;
                }

                i = j + 1;
            }

            return ranks;
        }

        var ra = Ranks(a);
        var rb = Ranks(b);
        double ma = ra.Average(), mb = rb.Average();
        double cov = ra.Zip(rb, (x, y) => (x - ma) * (y - mb)).Sum();
        double va = ra.Sum(x => (x - ma) * (x - ma)), vb = rb.Sum(y => (y - mb) * (y - mb));
        return va == 0 || vb == 0 ? double.NaN : cov / Math.Sqrt(va * vb);
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
