using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using DivideAssemble.Imaging;
using DivideAssemble.Reports;
using DivideAssemble.Evaluation;

namespace DivideAssemble.Reproduce;

/// <summary>What one run measured; the JSON file committed under docs/results.</summary>
internal sealed record RunResult
{
    public required string Group { get; init; }

    public required string Name { get; init; }

    /// <summary>Hash of the data set and settings; a run is redone when it changes.</summary>
    public required string Key { get; init; }

    public required string Dataset { get; init; }

    public required string Variant { get; init; }

    public required string Division { get; init; }

    public int Seed { get; init; }

    public double TrainSeconds { get; init; }

    public long Parameters { get; init; }

    public double? FinalReconstructionLoss { get; init; }

    public IReadOnlyDictionary<int, double>? AddressingEntropy { get; init; }

    public required double ImageAuroc { get; init; }

    public double? PixelAuroc { get; init; }

    public double? Aupro { get; init; }

    public required double F1Max { get; init; }

    public required double AveragePrecision { get; init; }

    public required IReadOnlyList<int> Labels { get; init; }

    /// <summary>Image scores in test-set order, so any image metric can be recomputed.</summary>
    public required IReadOnlyList<double> Scores { get; init; }

    public DaadOptions? Settings { get; init; }

    /// <summary>What model selection tried and chose (<c>select</c> runs).</summary>
    public SelectionReport? Selection { get; init; }

    /// <summary>Every scoring of one model on the validation and the test split (<c>check</c> runs).</summary>
    public IReadOnlyList<CheckRow>? Check { get; init; }

    public required string Machine { get; init; }

    public DateTimeOffset FinishedUtc { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>One scoring of a <c>check</c> run's model, on both splits.</summary>
internal sealed record CheckRow(string Division, ResidualKind Residual, string Pooling, double ValidationAuroc, double TestAuroc, double? ValidationPixelAuroc, double? TestPixelAuroc);

/// <summary>The run files under the output folder.</summary>
internal sealed class ResultStore
{
    private readonly string root;

    public ResultStore(string root) => this.root = root;

    /// <summary>Options added after results were first stored: at these values they are left out of the key, so older keys still match.</summary>
    private static readonly (string Section, string Name, string Value)[] LaterOptionsAtDefault =
    {
        ("training", "memoryInit", "\"auto\""),
        ("scoring", "memoryWeight", "null"),
        ("network", "headWidth", "0"),
        ("network", "headDepth", "3"),
        ("training", "restoration", "false"),
        ("training", "cleanFraction", "0.5"),
        ("training", "minAnomalyOpacity", "0.2"),
        ("training", "maxAnomalyOpacity", "1"),
        ("training", "headLearningRate", "0.001"),
        ("scoring", "headWeight", "null"),
    };

    public static string Key(RunSpec run)
    {
        string settings = run.Options is null ? "floor" : KeySettings(run.Options);
        string mode = run.Mode == "train" ? string.Empty : $"\n{run.Mode}"; // a selection or a check is not its base run
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{run.Data.Id}\n{settings}{mode}")))[..16].ToLowerInvariant();
    }

    /// <summary>
    /// Returns the stored result of <paramref name="run"/>, or <see langword="null"/> when there is none or
    /// it was made with other settings. Settings are compared by value (both read through today's
    /// <see cref="DaadOptions"/>, memory initialisation and weight resolved; results stored before
    /// <see cref="TrainingOptions.MemoryInit"/> existed read as uniform), so a result survives the removal of an option it did not depend on; a
    /// floor has no settings and a selection stores its winner's, so both are matched by their key.
    /// </summary>
    public RunResult? Find(RunSpec run)
    {
        string path = Path.Combine(root, run.File);
        if (!File.Exists(path))
        {
            return null;
        }

        string text = File.ReadAllText(path);
        var result = JsonSerializer.Deserialize<RunResult>(text, EvaluationReport.JsonOptions)
            ?? throw new InvalidDataException($"The result file '{path}' is empty.");
        if (result.Settings is not null && !text.Contains("\"memoryInit\"", StringComparison.Ordinal))
        {
            // Stored before memories could start from samples: they started uniform.
            result.Settings.Training.MemoryInit = MemoryInit.Uniform;
        }

        if (result.Settings is not null && !text.Contains("\"headWidth\"", StringComparison.Ordinal))
        {
            // Stored before the discriminative head and restoration training: the model had neither.
            result.Settings.Network.HeadWidth = 0;
            result.Settings.Training.Restoration = false;
        }

        if (run.Options is null || result.Settings is null)
        {
            return run.Options is null && result.Settings is null && result.Key == Key(run) ? result : null;
        }

        if (run.Mode == "select")
        {
            // A selection stores the winner's settings, not the ones it started from: match it by its key.
            return result.Selection is not null && result.Key == Key(run) ? result : null;
        }

        return Settings(result.Settings) == Settings(run.Options) && (result.Selection is not null) == (run.Mode == "select") && (result.Check is not null) == (run.Mode == "check") ? result : null;
    }

    private static string KeySettings(DaadOptions options)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(options, EvaluationReport.JsonOptions))!.AsObject();
        foreach (var (section, name, value) in LaterOptionsAtDefault)
        {
            if (node[section] is System.Text.Json.Nodes.JsonObject part && part.ContainsKey(name) && (part[name]?.ToJsonString() ?? "null") == value)
            {
                part.Remove(name);
            }
        }

        return node.ToJsonString(EvaluationReport.JsonOptions);
    }

    /// <summary>The settings as they act: memory initialisation and weight, head and restoration resolved, so a size-derived default and the value it stands for compare equal.</summary>
    private static string Settings(DaadOptions options)
    {
        var effective = options.Clone();
        effective.Training.MemoryInit = options.EffectiveMemoryInit();
        effective.Scoring.MemoryWeight = options.EffectiveMemoryWeight();
        effective.Network.HeadWidth = options.Network.ResolvedHeadWidth;
        effective.Training.Restoration = options.EffectiveRestoration();
        effective.Scoring.HeadWeight = options.EffectiveHeadWeight();
        return JsonSerializer.Serialize(effective, EvaluationReport.JsonOptions);
    }

    public void Save(RunSpec run, RunResult result)
    {
        string path = Path.Combine(root, run.File);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string json = JsonSerializer.Serialize(result, EvaluationReport.JsonOptions);
        AtomicFile.WriteAllText(path, json);
    }
}

/// <summary>Trains and evaluates one run, or scores the training-free floor.</summary>
internal static class Runner
{
    public static RunResult Execute(RunSpec run, string dataRoot, string output)
    {
        if (run.Mode == "select")
        {
            return Select(run, Load(run.Data with { Validation = true }, dataRoot), dataRoot);
        }

        if (run.Mode == "check")
        {
            return Check(run, Load(run.Data with { Validation = true }, dataRoot), Load(run.Data, dataRoot));
        }

        var data = Load(run.Data, dataRoot);
        return run.Options is null ? Floor(run, data) : Train(run, data, output);
    }

    private static AnomalyDataset Load(DataSpec spec, string root) => spec.Kind switch
    {
        "mnist" => Datasets.Idx(Path.Combine(root, "mnist"), spec.NormalClass, spec.Validation),
        "grass" or "grass-subtle" => Datasets.Mvtec(Path.Combine(root, "textures", spec.Kind), validation: spec.Validation),
        _ => throw new ArgumentException($"unknown data kind '{spec.Kind}'", nameof(spec)),
    };

    /// <summary>Selects on the validation split (the test split is loaded only after the final model is trained), then evaluates on the test split.</summary>
    private static RunResult Select(RunSpec run, AnomalyDataset validation, string dataRoot)
    {
        var clock = Stopwatch.StartNew();
        string? stage = null;
        var result = ModelSelection.SelectOnSplit(run.Options!, validation.Train, validation.Test, validation.FullTrain, validation.Description, progress: new Progress<SelectionProgress>(p =>
        {
            if (p.Stage != stage)
            {
                stage = p.Stage;
                Console.WriteLine($"  {p.Stage}");
            }
        }));
        using var detector = result.Detector;
        double seconds = clock.Elapsed.TotalSeconds;
        var test = Load(run.Data, dataRoot);
        var report = Evaluator.Evaluate(detector, test.Test, test.Description);
        Console.WriteLine($"  {result.Report.Describe()}");
        return Result(run, test, detector.Options, detector, report, seconds, result.Training) with { Selection = result.Report };
    }

    /// <summary>Trains on the validation split's training part and scores every way on the validation split and on the test split.</summary>
    private static RunResult Check(RunSpec run, AnomalyDataset validation, AnomalyDataset test)
    {
        var options = run.Options!;
        using var detector = new AnomalyDetector(options);
        var clock = Stopwatch.StartNew();
        var summary = detector.Fit(validation.Train);
        double seconds = clock.Elapsed.TotalSeconds;
        var calibration = ImageSources.Subset(validation.Train, detector.HeldOutIndices(validation.Train.Count));
        var onValidation = ModelSelection.ScoreEveryWay(detector, calibration, validation.Test);
        var onTest = ModelSelection.ScoreEveryWay(detector, calibration, test.Test);
        var rows = onValidation.Zip(onTest, (v, t) => new CheckRow(v.Division, v.Residual, v.DescribePooling(), v.ImageAuroc, t.ImageAuroc, v.PixelAuroc, t.PixelAuroc)).ToList();
        var scoring = options.Scoring.Clone();
        detector.ChangeScoring(scoring, calibration);
        var report = Evaluator.Evaluate(detector, test.Test, test.Description);
        return Result(run, test, options, detector, report, seconds, summary) with { Check = rows };
    }

    private static int ImageSize(DataSpec spec) => spec.Kind == "mnist" ? 32 : 128;

    private static RunResult Train(RunSpec run, AnomalyDataset data, string output)
    {
        var options = run.Options!;
        using var detector = DaadBuilder.Create(options).Build();
        var clock = Stopwatch.StartNew();
        var summary = detector.Fit(data.Train, new Progress<TrainingProgress>(p =>
        {
            if (p.EndOfEpoch && p.Epoch % 5 == 0)
            {
                Console.WriteLine(FormattableString.Invariant($"  epoch {p.Epoch}/{p.Epochs} L_rec {p.ReconstructionLoss:F4}"));
            }
        }));
        double trainSeconds = clock.Elapsed.TotalSeconds;
        var report = Evaluator.Evaluate(detector, data.Test, data.Description);
        if (run.Panels > 0)
        {
            ReportPictures.WriteAll(detector, data.Test, report, Path.Combine(output, run.Group, run.Name), run.Panels);
        }

        return Result(run, data, options, detector, report, trainSeconds, summary);
    }

    private static RunResult Result(RunSpec run, AnomalyDataset data, DaadOptions options, AnomalyDetector detector, EvaluationReport report, double trainSeconds, TrainingSummary summary)
    {
        var n = options.Network;
        return new RunResult
        {
            Group = run.Group,
            Name = run.Name,
            Key = ResultStore.Key(run),
            Dataset = data.Description,
            Variant = n.Variant.ToString(),
            Division = n.Variant is ModelVariant.Autoencoder or ModelVariant.AutoencoderSkip ? "—"
                : n.DescribeDivision(),
            Seed = options.Seed,
            TrainSeconds = trainSeconds,
            Parameters = detector.GeneratorParameterCount + detector.DiscriminatorParameterCount,
            FinalReconstructionLoss = summary.History.Count > 0 ? summary.History[^1].ReconstructionLoss : null,
            AddressingEntropy = summary.AddressingEntropy,
            ImageAuroc = report.ImageAuroc,
            PixelAuroc = report.PixelAuroc,
            Aupro = report.Aupro,
            F1Max = report.F1Max,
            AveragePrecision = report.AveragePrecision,
            Labels = report.Images.Select(r => r.Label).ToArray(),
            Scores = report.Images.Select(r => Math.Round(r.Score, 6)).ToArray(),
            Settings = options,
            Machine = Machine(),
        };
    }

    /// <summary>Scores each test image by its mean squared distance to the mean training image (per pixel for the map).</summary>
    private static RunResult Floor(RunSpec run, AnomalyDataset data)
    {
        int size = ImageSize(run.Data), plane = size * size;
        var mean = new double[plane];
        var buffer = new float[plane];
        for (int i = 0; i < data.Train.Count; i++)
        {
            data.Train.Read(i, 1, size, buffer);
            for (int p = 0; p < plane; p++)
            {
                mean[p] += buffer[p] / (double)data.Train.Count;
            }
        }

        var test = data.Test;
        var scores = new double[test.Count];
        var labels = new int[test.Count];
        var pixels = test.HasMasks ? new PixelMetricsAccumulator() : null;
        var map = new float[plane];
        for (int i = 0; i < test.Count; i++)
        {
            test.Read(i, 1, size, buffer);
            double sum = 0;
            for (int p = 0; p < plane; p++)
            {
                double d = buffer[p] - mean[p];
                map[p] = (float)(d * d);
                sum += d * d;
            }

            scores[i] = sum / plane;
            labels[i] = test.GetLabel(i);
            if (pixels is not null)
            {
                var mask = test.ReadMask(i)!;
                var resized = ImagePreprocessing.Resize(map, size, size, mask.Width, mask.Height);
                pixels.Add(resized, mask);
            }
        }

        return new RunResult
        {
            Group = run.Group,
            Name = run.Name,
            Key = ResultStore.Key(run),
            Dataset = data.Description,
            Variant = "Floor",
            Division = "—",
            ImageAuroc = Metrics.Auroc(scores, labels),
            PixelAuroc = pixels?.PixelAuroc(),
            Aupro = pixels?.Aupro(),
            F1Max = Metrics.F1Max(scores, labels).F1,
            AveragePrecision = Metrics.AveragePrecision(scores, labels),
            Labels = labels,
            Scores = scores.Select(s => Math.Round(s, 6)).ToArray(),
            Machine = Machine(),
        };
    }

    private static string Machine() => $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
}

