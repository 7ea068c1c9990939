// Quickstart: train DAAD on a small embedded texture set, score its test images, write pictures.
// Run from the repository root:  dotnet run --project samples/Quickstart -c Release
using System.Diagnostics;
using System.Reflection;
using DivideAssemble;
using DivideAssemble.Imaging;
using DivideAssemble.Reports;
using DivideAssemble.Evaluation;

string output = Path.GetFullPath(args.Length > 0 ? args[0] : "quickstart-output");
string data = ExtractEmbeddedData();
try
{
    // 64×64 grey crops of a real grass photograph; the test set has painted stains, holes and
    // scratches with ground-truth masks (samples/Quickstart/data/make_grass64.py).
    var dataset = Datasets.Mvtec(data);
    Console.WriteLine(dataset.Description.Replace(data, "embedded grass64", StringComparison.Ordinal));

    using var detector = DaadBuilder.Create()
        .WithImageSize(64)
        .WithChannels(1)
        .WithTraining(epochs: 40, batchSize: 8)
        .WithSeed(1)
        .Build();
    Console.WriteLine(detector.Summary());

    var clock = Stopwatch.StartNew();
    var summary = detector.Fit(dataset.Train, new Progress<TrainingProgress>(p =>
    {
        if (p.EndOfEpoch && (p.Epoch % 5 == 0 || p.Epoch == 1))
        {
            Console.WriteLine($"epoch {p.Epoch,3}/{p.Epochs}: L_rec {p.ReconstructionLoss:F4}, validation {p.ValidationLoss:F4}, {p.ImagesPerSecond:F0} images/s");
        }
    }));
    Console.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F0} s; threshold {summary.Calibration.Threshold:F3} from {summary.Calibration.ImageCount} held-back normal images");

    var report = Evaluator.Evaluate(detector, dataset.Test, "embedded grass64");
    Directory.CreateDirectory(output);
    report.Save(Path.Combine(output, "report.json"));
    ReportPictures.WriteCharts(report, output);
    foreach (var record in report.Images.Where(r => r.Label == 1).OrderByDescending(r => r.Score).Take(3))
    {
        var input = new float[detector.Channels * detector.ImageSize * detector.ImageSize];
        dataset.Test.Read(record.Index, detector.Channels, detector.ImageSize, input);
        var result = detector.Score(record.Path!);
        ReportPictures.WritePanel(Path.Combine(output, $"panel-{record.Index}.png"), input, result, dataset.Test.ReadMask(record.Index), 0,
            $"{Path.GetFileName(Path.GetDirectoryName(record.Path))}/{Path.GetFileName(record.Path)} score {result.Score:F2}");
    }

    Console.WriteLine($"pixel AUROC: {report.PixelAuroc:F3}, AUPRO: {report.Aupro:F3}, accuracy at the calibrated threshold: {report.Accuracy:F3}");
    Console.WriteLine($"image AUROC: {report.ImageAuroc:F3}");
    Console.WriteLine($"report and pictures written to {output}");
}
finally
{
    Directory.Delete(data, recursive: true);
}

static string ExtractEmbeddedData()
{
    var assembly = Assembly.GetExecutingAssembly();
    string root = Directory.CreateTempSubdirectory("daad-quickstart-").FullName;
    foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("grass64/", StringComparison.Ordinal)))
    {
        string relative = name["grass64/".Length..].Replace('\\', '/');
        string path = Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var resource = assembly.GetManifestResourceStream(name)!;
        using var file = File.Create(path);
        resource.CopyTo(file);
    }

    return root;
}
