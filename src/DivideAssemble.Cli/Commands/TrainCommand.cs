using System.Globalization;
using DivideAssemble.Imaging;

namespace DivideAssemble.Cli.Commands;

/// <summary><c>daad train</c>: trains a model on a data set's training images (or selects its settings first with <c>--select</c>) and saves it.</summary>
internal sealed class TrainCommand : ICommand
{
    public string Name => "train";

    public int Run(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        string output = a.Required("out");
        bool select = a.Flag("select");
        double? budgetMinutes = a.Double("select-budget");
        if (budgetMinutes is not null && !select)
        {
            throw new UsageException("--select-budget applies to --select");
        }

        if (a.Optional("select-on") is not null && !select)
        {
            throw new UsageException("--select-on applies to --select");
        }

        if (budgetMinutes is <= 0)
        {
            throw new UsageException($"--select-budget must be a positive number of minutes; got {budgetMinutes}");
        }

        return select ? Select(a, stdout, output, budgetMinutes) : Train(a, stdout, output);
    }

    private static int Train(Arguments a, TextWriter stdout, string output)
    {
        var data = SharedArguments.LoadData(a);
        var options = SharedArguments.TrainingOptions(a, data);
        string? checkpoint = a.Optional("checkpoint");
        SharedArguments.ApplyThreads(a);
        a.RejectUnknown();

        stdout.WriteLine(data.Description);
        using var detector = DaadBuilder.Create(options).Build();
        stdout.WriteLine(detector.Summary());
        var summary = ProgressView.Run(stdout, p => checkpoint is null ? detector.Fit(data.Train, p) : detector.FitWithCheckpoints(data.Train, checkpoint, p));
        detector.Save(output);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained {summary.EpochsCompleted} epochs in {summary.Duration.TotalSeconds:F1} s on {summary.TrainingImages} images ({summary.ValidationImages} held back); threshold {summary.Calibration.Threshold:G5}"));
        if (summary.AddressingEntropy.Count > 0)
        {
            stdout.WriteLine("addressing entropy / log N by scale: " + string.Join(", ", summary.AddressingEntropy.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key}: {e.Value:F3}"))));
        }

        foreach (string warning in summary.Warnings)
        {
            stdout.WriteLine("warning: " + warning);
        }

        stdout.WriteLine($"model written to {output}");
        return 0;
    }

    private static int Select(Arguments a, TextWriter stdout, string output, double? budgetMinutes)
    {
        if (a.Optional("split") is not null)
        {
            throw new UsageException("--select always chooses on a validation split of the training images; leave out --split");
        }

        if (a.Optional("checkpoint") is not null)
        {
            throw new UsageException("--select keeps its own resumable state beside --out; leave out --checkpoint");
        }

        var data = SharedArguments.LoadData(a, validation: true);
        string? selectOn = a.Optional("select-on");
        var options = SharedArguments.TrainingOptions(a, data);
        var selection = new SelectionOptions { Budget = budgetMinutes is { } m ? TimeSpan.FromMinutes(m) : null };
        if (a.Optional("division") is not null)
        {
            selection.Divisions = new List<string> { options.Network.DescribeDivision() };
        }

        if (a.Optional("temperature") is not null)
        {
            selection.Temperatures = new List<double>();
        }

        SharedArguments.ApplyThreads(a);
        a.RejectUnknown();
        if (selectOn is not null)
        {
            data = WithLabelledValidation(data, selectOn);
        }
        else if (data.Test.Count == 0)
        {
            throw new UsageException($"{data.Description}: the validation split is empty");
        }

        stdout.WriteLine(data.Description);
        string statePath = output + ".selection.json";
        if (File.Exists(statePath))
        {
            stdout.WriteLine($"continuing the interrupted selection recorded in {statePath}");
        }

        var result = ModelSelection.SelectOnSplit(options, data.Train, data.Test, data.FullTrain, data.Description, selection, statePath, ProgressView.Selection(stdout));
        using var detector = result.Detector;
        string table = result.Report.ToMarkdown();
        stdout.WriteLine();
        stdout.Write(table);
        stdout.WriteLine();
        detector.Save(output);
        AtomicFile.WriteAllText(output + ".selection.md", $"# Selection for {output}{Environment.NewLine}{Environment.NewLine}{data.Description}{Environment.NewLine}{Environment.NewLine}{result.Report.Describe()}{Environment.NewLine}{Environment.NewLine}{table}");
        stdout.WriteLine(detector.Summary());
        var summary = result.Training;
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"final model trained {summary.EpochsCompleted} epochs in {summary.Duration.TotalSeconds:F1} s on {summary.TrainingImages} images ({summary.ValidationImages} held back); selection took {result.Report.SelectionSeconds:F0} s of a {result.Report.BudgetSeconds:F0} s budget"));
        stdout.WriteLine($"model written to {output}; candidates table in {output}.selection.md");
        return 0;
    }

    /// <summary>
    /// <c>--select-on</c>: the candidates train on every training image (each holds back its own calibration
    /// images as training does) and are compared on the labelled folder instead of on synthetic defects.
    /// </summary>
    private static AnomalyDataset WithLabelledValidation(AnomalyDataset data, string folder)
    {
        var labelled = Datasets.LabelledFolder(folder);
        int anomalous = Enumerable.Range(0, labelled.Count).Count(i => labelled.GetLabel(i) == 1);
        int normal = labelled.Count - anomalous;
        if (normal == 0 || anomalous == 0)
        {
            throw new UsageException($"--select-on '{folder}' needs normal images in good/ (or normal/) and anomalous ones in a subfolder per defect kind; it has {normal} normal and {anomalous} anomalous");
        }

        var training = data.FullTrain is FileImageSource files ? files.Paths.Select(Path.GetFullPath).ToHashSet(StringComparer.Ordinal) : new HashSet<string>(StringComparer.Ordinal);
        if (labelled.Paths.FirstOrDefault(p => training.Contains(Path.GetFullPath(p))) is { } shared)
        {
            throw new UsageException($"--select-on '{folder}' holds a training image, '{shared}': the images selection is judged on must not be trained on");
        }

        int cut = data.Description.IndexOf(" (validation split", StringComparison.Ordinal);
        string origin = cut < 0 ? data.Description : data.Description[..cut];
        return data with
        {
            Train = data.FullTrain,
            Test = labelled,
            Description = $"{origin}: {data.FullTrain.Count} training images; settings chosen on the labelled folder '{folder}' ({normal} normal, {anomalous} anomalous images)",
        };
    }
}
