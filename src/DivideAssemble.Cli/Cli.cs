using System.Globalization;
using System.Text.Json;
using DivideAssemble.Evaluation;
using DivideAssemble.Imaging;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace DivideAssemble.Cli;

/// <summary>The <c>daad</c> command-line tool.</summary>
internal static class Cli
{
    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "verbose", "json", "no-flips", "help", "skip-unreadable", "select" };

    public static readonly IReadOnlyDictionary<string, ModelVariant> Variants = new Dictionary<string, ModelVariant>(StringComparer.Ordinal)
    {
        ["daad"] = ModelVariant.Daad,
        ["daad+"] = ModelVariant.DaadPlus,
        ["ae"] = ModelVariant.Autoencoder,
        ["ae-skip"] = ModelVariant.AutoencoderSkip,
        ["memae"] = ModelVariant.MemAE,
    };

    private static readonly IReadOnlyDictionary<string, ImageScorePooling?> Poolings = new Dictionary<string, ImageScorePooling?>(StringComparer.Ordinal)
    {
        ["mean"] = ImageScorePooling.Mean,
        ["max"] = ImageScorePooling.Max,
        ["top"] = ImageScorePooling.TopMean,
    };

    private static readonly IReadOnlyDictionary<string, string> Splits = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["test"] = "test",
        ["validation"] = "validation",
    };

    private static readonly IReadOnlyDictionary<string, string> Formats = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["mvtec"] = "mvtec",
        ["folder"] = "folder",
        ["idx"] = "idx",
        ["cifar"] = "cifar",
    };

    public const string Usage = """
        daad — DAAD/DAAD+ anomaly detection

        daad train   --data <path> --format mvtec|folder|idx|cifar [--category <name>] [--normal-class <k>] [--split test|validation]
                     --model daad|daad+|ae|ae-skip|memae [--image-size S] [--division rh,rw,rc|pixel] [--memory N]
                     [--epochs E] [--batch B] [--seed s] [--device cpu|cuda] [--preset default|paper]
                     [--channels C] [--width W] [--depth L] [--temperature T] [--lr X] [--threads n]
                     [--memory-init auto|uniform|samples] [--memory-weight β]
                     [--checkpoint <file> --checkpoint-every K] [--no-flips] --out <model file>
                     [--select [--select-budget <minutes>]]
                     --select chooses division, temperature, residual and pooling on a validation split of the
                     training images (the test split is never read), then trains the final model (--epochs)
                     with the winner (the defaults stay unless a candidate beats them by more than one standard
                     error of their validation AUROC); --division or --temperature given with it are kept fixed; an interrupted
                     selection continues when run again (state in <out>.selection.json)
        daad eval    --model <file> --data <path> --format ... [--category] [--normal-class <k>] [--split ...]
                     --report <report.json> [--pictures <dir>] [--panels n] [--pooling mean|max|top] [--smoothing sigma] [--residual-smoothing sigma] [--memory-weight β]
        daad score   --model <file> <image or folder>... [--json]
        daad compare --data <path> --format ... [--category] [--normal-class <k>] [--split ...]
                     (--models daad,ae,... | --divisions "2,2,1;4,4,1;8,8,1;pixel") [--model daad] [training options]
                     [--out <table.md>]
        daad export  --model <model.daad> --out <model.onnx>
                     writes the trained model as ONNX (opset 17) for ONNX Runtime, OpenVINO, TensorRT or a model server
        daad info    <model file>
        score, eval and info read a .daad model or an exported .onnx model (told apart by content)
        daad soak    [--folder <images>] [--steps 300] [--images 2000] [--image-size 64] [--model ...] [--width W] [--max-growth 5]
                     trains and scores for a while and checks that resident memory stays flat (exit 1 if it grows more)
        Add --verbose to any command for stack traces on errors.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        bool verbose = args.Contains("--verbose");
        try
        {
            if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
            {
                stdout.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }

            var a = Arguments.Parse(args, Flags);
            a.Flag("verbose");
            return a.Command switch
            {
                "train" => Train(a, stdout),
                "eval" => Eval(a, stdout),
                "score" => Score(a, stdout, stderr),
                "compare" => Compare(a, stdout),
                "info" => Info(a, stdout),
                "export" => Export(a, stdout),
                "soak" => SoakCommand(a, stdout),
                _ => throw new UsageException($"unknown command '{a.Command}'; use one of: train, eval, score, compare, info, export, soak"),
            };
        }
        catch (Exception ex)
        {
            await stderr.WriteLineAsync(verbose ? $"error: {ex}" : $"error: {OneLine(ex)}").ConfigureAwait(false);
            return ex is UsageException ? 2 : 1;
        }
    }

    internal static string OneLine(Exception ex)
    {
        string message = ex switch
        {
            OptionsValidationException o => "invalid options: " + string.Join("; ", o.Failures),
            TypeInitializationException { InnerException: { } inner } => inner.Message,
            AggregateException { InnerExceptions.Count: 1 } agg => agg.InnerExceptions[0].Message,
            _ => ex.Message,
        };
        return string.Join(' ', message.Split(new[] { '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries)).Trim();
    }

    private static int Train(Arguments a, TextWriter stdout)
    {
        string output = a.Required("out");
        bool select = a.Flag("select");
        double? budgetMinutes = a.Double("select-budget");
        if (budgetMinutes is not null && !select)
        {
            throw new UsageException("--select-budget applies to --select");
        }

        if (budgetMinutes is <= 0)
        {
            throw new UsageException($"--select-budget must be a positive number of minutes; got {budgetMinutes}");
        }

        if (select)
        {
            return TrainSelected(a, stdout, output, budgetMinutes);
        }

        var data = LoadData(a);
        var options = TrainingOptionsFrom(a, data);
        string? checkpoint = a.Optional("checkpoint");
        ApplyThreads(a);
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
        stdout.WriteLine($"model written to {output}");
        return 0;
    }

    private static int TrainSelected(Arguments a, TextWriter stdout, string output, double? budgetMinutes)
    {
        if (a.Optional("split") is not null)
        {
            throw new UsageException("--select always chooses on a validation split of the training images; leave out --split");
        }

        if (a.Optional("checkpoint") is not null)
        {
            throw new UsageException("--select keeps its own resumable state beside --out; leave out --checkpoint");
        }

        var data = LoadData(a, validation: true);
        var options = TrainingOptionsFrom(a, data);
        var selection = new SelectionOptions { Budget = budgetMinutes is { } m ? TimeSpan.FromMinutes(m) : null };
        if (a.Optional("division") is not null)
        {
            selection.Divisions = new List<string> { options.Network.DescribeDivision() };
        }

        if (a.Optional("temperature") is not null)
        {
            selection.Temperatures = new List<double>();
        }

        ApplyThreads(a);
        a.RejectUnknown();
        if (data.Test.Count == 0)
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

    private static int Eval(Arguments a, TextWriter stdout)
    {
        string modelPath = a.Required("model");
        string reportPath = a.Required("report");
        string? pictures = a.Optional("pictures");
        int panels = a.Int("panels", 0, 1000) ?? 6;
        string? device = a.Optional("device");
        var pooling = a.Choice("pooling", Poolings, (ImageScorePooling?)null);
        double? sigma = a.Double("smoothing");
        double? residualSigma = a.Double("residual-smoothing");
        double? memoryWeight = a.Double("memory-weight");
        var data = LoadData(a);
        ApplyThreads(a);
        a.RejectUnknown();

        using var model = Models.Load(modelPath, device);
        if (pooling is not null || sigma is not null || residualSigma is not null || memoryWeight is not null)
        {
            // New scoring options change R(x): re-measure the calibration on the normal images training held back.
            var detector = model.Scorer as AnomalyDetector
                ?? throw new UsageException($"--pooling, --smoothing, --residual-smoothing and --memory-weight change the scoring graph baked into the exported model '{modelPath}'; evaluate the .daad model with them, or export again after changing them");
            var scoring = detector.Options.Scoring;
            scoring.Pooling = pooling ?? scoring.Pooling;
            scoring.SmoothingSigma = sigma ?? scoring.SmoothingSigma;
            scoring.ResidualSigma = residualSigma ?? scoring.ResidualSigma;
            scoring.MemoryWeight = memoryWeight ?? scoring.MemoryWeight;
            var heldOut = detector.HeldOutIndices(data.Train.Count);
            detector.ChangeScoring(scoring, ImageSources.Subset(data.Train, heldOut.Count > 0 ? heldOut : Enumerable.Range(0, data.Train.Count).ToList()));
        }

        var report = EvaluationCommand.Run(model.Scorer, data, reportPath, pictures, panels, stdout);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"image AUROC: {report.ImageAuroc:F3}"));
        return 0;
    }

    private static int Score(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        string modelPath = a.Required("model");
        bool json = a.Flag("json");
        string? device = a.Optional("device");
        a.RejectUnknown();
        if (a.Positionals.Count == 0)
        {
            throw new UsageException("score: give at least one image or folder to score");
        }

        ApplyThreads(a);
        using var model = Models.Load(modelPath, device);
        var scorer = model.Scorer;
        int failures = 0;
        var records = new List<object>();
        foreach (string input in a.Positionals)
        {
            IEnumerable<string> files;
            if (Directory.Exists(input))
            {
                files = Datasets.ImageFiles(input);
            }
            else
            {
                files = new[] { input };
            }

            foreach (string file in files)
            {
                try
                {
                    var r = scorer.Score(file);
                    if (json)
                    {
                        records.Add(new { path = file, score = r.Score, threshold = r.Threshold, anomalous = r.IsAnomalous, regions = r.Regions.Count });
                    }
                    else
                    {
                        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file}\t{r.Score:F4}\t{(r.IsAnomalous ? "anomalous" : "normal")}"));
                    }
                }
                catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    failures++;
                    stderr.WriteLine($"error: {OneLine(ex)}");
                }
            }
        }

        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(records, EvaluationReport.JsonOptions));
        }

        return failures == 0 ? 0 : 1;
    }

    private static int Compare(Arguments a, TextWriter stdout)
    {
        string? models = a.Optional("models");
        string? divisions = a.Optional("divisions");
        string? output = a.Optional("out");
        if ((models is null) == (divisions is null))
        {
            throw new UsageException("compare: give exactly one of --models and --divisions");
        }

        var data = LoadData(a);
        var baseOptions = TrainingOptionsFrom(a, data);
        ApplyThreads(a);
        a.RejectUnknown();
        var runs = new List<(string Name, DaadOptions Options)>();
        if (models is not null)
        {
            foreach (string m in models.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var o = baseOptions.Clone();
                o.Network.Variant = Variants.TryGetValue(m, out var v) ? v : throw new UsageException($"option --models: '{m}' is not one of {string.Join(", ", Variants.Keys)}");
                runs.Add((m, o));
            }
        }
        else
        {
            foreach (string d in divisions!.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var (rh, rw, rc, pixel) = Arguments.ParseDivision(d);
                var o = baseOptions.Clone();
                o.Network.HeightRatio = rh;
                o.Network.WidthRatio = rw;
                o.Network.ChannelRatio = rc;
                o.Network.PerPixel = pixel;
                runs.Add((d, o));
            }
        }

        foreach (var (name, o) in runs)
        {
            var errors = DaadOptionsValidator.Collect(o);
            if (errors.Count > 0)
            {
                throw new UsageException($"compare: configuration '{name}' is invalid: {string.Join("; ", errors)}");
            }
        }

        stdout.WriteLine(data.Description);
        var rows = new List<Comparison.Row>();
        foreach (var (name, o) in runs)
        {
            stdout.WriteLine($"== {name} ==");
            rows.Add(Comparison.RunOne(name, o, data, stdout));
        }

        string table = Comparison.Markdown(rows, data.Description, baseOptions);
        stdout.WriteLine();
        stdout.WriteLine(table);
        if (output is not null)
        {
            AtomicFile.WriteAllText(output, table);
            stdout.WriteLine($"table written to {output}");
        }

        return 0;
    }

    private static int SoakCommand(Arguments a, TextWriter stdout)
    {
        var o = DaadOptions.Default;
        o.Network.Variant = a.Choice("model", Variants, o.Network.Variant);
        o.Network.ImageSize = a.Int("image-size") ?? 64;
        o.Network.Channels = a.Int("channels") ?? 1;
        o.Network.BaseWidth = a.Int("width") ?? o.Network.BaseWidth;
        ApplyThreads(a);
        string? folder = a.Optional("folder");
        int steps = a.Int("steps", 1, 10_000_000) ?? 300;
        int images = a.Int("images", 1, 100_000_000) ?? 2000;
        double maxGrowth = a.Double("max-growth", 0, 1000) ?? 5;
        a.RejectUnknown();
        DaadOptionsValidator.ThrowIfInvalid(o);
        stdout.WriteLine($"soak: {o.Network.Variant} at {o.Network.ImageSize} px, width {o.Network.BaseWidth}; {steps} training steps and {images} images scored from PNG files after a warm-up of a tenth of each");
        var f = Soak.Run(o, folder, steps, images, stdout);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RSS after warm-up {f.WarmRssMb:F0} MB, after {f.Steps} steps and {f.Scored} images {f.FinalRssMb:F0} MB ({f.GrowthPercent:+0.0;-0.0} %), highest sample {f.PeakAfterWarmUpMb:F0} MB, {f.Seconds:F0} s"));
        bool flat = f.IsFlat(maxGrowth);
        stdout.WriteLine(flat ? $"memory is flat (growth under {maxGrowth} %)" : $"memory grew by more than {maxGrowth} %");
        return flat ? 0 : 1;
    }

    private static int Export(Arguments a, TextWriter stdout)
    {
        string modelPath = a.Required("model");
        string output = a.Required("out");
        a.RejectUnknown();
        using var model = Models.Load(modelPath, "cpu");
        var detector = model.Scorer as AnomalyDetector
            ?? throw new UsageException($"export: '{modelPath}' is already an exported model; export reads a .daad model file");
        foreach (string file in detector.ExportOnnx(output))
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"written {file} ({new FileInfo(file).Length:N0} bytes)"));
        }

        return 0;
    }

    private static int Info(Arguments a, TextWriter stdout)
    {
        a.RejectUnknown();
        if (a.Positionals.Count != 1)
        {
            throw new UsageException("info: give exactly one model file");
        }

        using var model = Models.Load(a.Positionals[0], null);
        stdout.WriteLine(model.Summary);
        stdout.WriteLine(JsonSerializer.Serialize(model.Scorer.Options, EvaluationReport.JsonOptions));
        return 0;
    }

    internal static AnomalyDataset LoadData(Arguments a, bool validation = false)
    {
        string path = a.Required("data");
        string format = a.Choice("format", Formats, string.Empty);
        if (format.Length == 0)
        {
            throw new UsageException("missing required option --format (mvtec, folder, idx or cifar)");
        }

        string? category = a.Optional("category");
        int? normalClass = a.Int("normal-class", 0, 255);
        bool skip = a.Flag("skip-unreadable");
        string split = a.Choice("split", Splits, "test");
        bool forced = validation;
        validation |= split == "validation";
        if (validation && format == "folder" && !forced)
        {
            throw new UsageException("--split validation applies to mvtec, idx and cifar data, not folder");
        }

        AnomalyDataset data = format switch
        {
            "mvtec" => Datasets.Mvtec(path, category, validation),
            "folder" => validation ? Datasets.FolderValidation(path) : FolderData(path),
            "idx" => Datasets.Idx(path, normalClass ?? throw new UsageException("--format idx needs --normal-class <k>"), validation),
            "cifar" => Datasets.Cifar10(path, normalClass ?? throw new UsageException("--format cifar needs --normal-class <k>"), validation),
            _ => throw new UsageException($"unknown format '{format}'"),
        };
        if (format is not ("idx" or "cifar") && normalClass is not null)
        {
            throw new UsageException($"--normal-class applies to idx and cifar data, not {format}");
        }

        if (skip)
        {
            data = SkipUnreadable(data);
        }

        return data;
    }

    private static AnomalyDataset FolderData(string path)
    {
        // A plain folder trains on all its images; for evaluation it needs good/ (or normal/) and defect subfolders.
        var train = Datasets.Folder(path);
        var sub = Directory.Exists(path) ? Directory.GetDirectories(path).OrderBy(d => d, StringComparer.Ordinal).ToList() : new List<string>();
        var paths = new List<string>();
        var labels = new List<int>();
        foreach (string d in sub)
        {
            string name = Path.GetFileName(d);
            int label = name is "good" or "normal" ? 0 : 1;
            foreach (string f in Datasets.ImageFiles(d))
            {
                paths.Add(f);
                labels.Add(label);
            }
        }

        return new AnomalyDataset(train, new FileImageSource(paths, labels), $"image folder '{path}': {train.Count} images")
        {
            Format = DatasetFormat.Folder,
            Channels = ImageDecoder.Decode(train.Paths[0]).IsGrey ? 1 : 3,
            HorizontalFlipsAreNormal = true,
            VerticalFlipsAreNormal = true,
        };
    }

    private static AnomalyDataset SkipUnreadable(AnomalyDataset data)
    {
        if (data.Train is FileImageSource files)
        {
            var (clean, skipped) = files.WithoutUnreadable();
            foreach (var (p, why) in skipped)
            {
                Console.Error.WriteLine($"skipped: {p}: {why}");
            }

            data = data with { Train = clean };
            if (data.IsValidationSplit && data.FullTrain is FileImageSource all)
            {
                data = data with { FullTrain = all.WithoutUnreadable().Source };
            }
        }

        if (data.Test is FileImageSource test)
        {
            var (clean, skipped) = test.WithoutUnreadable();
            foreach (var (p, why) in skipped)
            {
                Console.Error.WriteLine($"skipped: {p}: {why}");
            }

            data = data with { Test = clean };
        }

        return data;
    }

    internal static DaadOptions TrainingOptionsFrom(Arguments a, AnomalyDataset data)
    {
        var preset = a.Choice("preset", new Dictionary<string, Func<DaadOptions>>(StringComparer.Ordinal) { ["default"] = () => DaadOptions.Default, ["paper"] = () => DaadOptions.Paper }, () => DaadOptions.Default)();
        var o = preset;
        o.Network.Variant = a.Choice("model", Variants, o.Network.Variant);
        o.Network.ImageSize = a.Int("image-size") ?? o.Network.ImageSize;
        o.Network.Channels = a.Int("channels") ?? data.Channels;
        if (a.Optional("division") is { } division)
        {
            var (rh, rw, rc, pixel) = Arguments.ParseDivision(division);
            o.Network.HeightRatio = rh;
            o.Network.WidthRatio = rw;
            o.Network.ChannelRatio = rc;
            o.Network.PerPixel = pixel;
        }

        o.Network.MemoryItems = a.Int("memory") ?? o.Network.MemoryItems;
        o.Network.MemoryTemperature = a.Double("temperature") ?? o.Network.MemoryTemperature;
        o.Training.MemoryInit = a.Choice("memory-init", new Dictionary<string, MemoryInit>(StringComparer.Ordinal) { ["auto"] = MemoryInit.Auto, ["uniform"] = MemoryInit.Uniform, ["samples"] = MemoryInit.Samples }, o.Training.MemoryInit);
        o.Scoring.MemoryWeight = a.Double("memory-weight") ?? o.Scoring.MemoryWeight;
        o.Network.BaseWidth = a.Int("width") ?? o.Network.BaseWidth;
        o.Network.Depth = a.Int("depth") ?? o.Network.Depth;
        o.Training.Epochs = a.Int("epochs") ?? o.Training.Epochs;
        o.Training.BatchSize = a.Int("batch") ?? o.Training.BatchSize;
        o.Training.LearningRate = a.Double("lr") ?? o.Training.LearningRate;
        o.Training.CheckpointEvery = a.Int("checkpoint-every") ?? o.Training.CheckpointEvery;
        o.Seed = a.Int("seed") ?? o.Seed;
        o.Device = a.Optional("device") ?? o.Device;
        bool noFlips = a.Flag("no-flips");
        o.Training.HorizontalFlip &= data.HorizontalFlipsAreNormal && !noFlips;
        o.Training.VerticalFlip &= data.VerticalFlipsAreNormal && !noFlips;

        // Ranges are the options validator's to check, so a bad value reads the same here as from the API or a model file.
        var errors = DaadOptionsValidator.Collect(o);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(DaadOptions), errors);
        }

        return o;
    }

    /// <summary>Applies <c>--threads n</c> to this process's libtorch (the library never changes the process-wide thread count itself).</summary>
    private static void ApplyThreads(Arguments a)
    {
        if (a.Int("threads", 1, 1024) is { } threads)
        {
            torch.set_num_threads(threads);
        }
    }
}
