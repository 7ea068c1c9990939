// A user's training app, built from packed packages outside the repository (eng/packaging/run.sh):
// trains one epoch on the embedded grass images, scores the test images, saves and exports.
//   Trainer <grass64 folder> <output folder>
using System.Globalization;
using DivideAssemble;
using DivideAssemble.Imaging;

string data = args[0], output = args[1];
var set = Datasets.Mvtec(data);
using var detector = DaadBuilder.Create()
    .WithImageSize(32)
    .WithTraining(epochs: 1)
    .WithSeed(1)
    .Build();
var summary = detector.Fit(set.Train);
Console.WriteLine($"trained {summary.EpochsCompleted} epoch on {summary.TrainingImages} images; channels {detector.Options.Network.Channels}");

using var scores = new StreamWriter(Path.Combine(output, "scores.tsv"));
foreach (var (path, result) in detector.ScoreFolder(Path.Combine(data, "test"), recursive: true))
{
    scores.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Path.GetRelativePath(data, path)}\t{result.Score:R}"));
}

detector.Save(Path.Combine(output, "model.daad"));
detector.ExportOnnx(Path.Combine(output, "model.onnx"));
Console.WriteLine("saved model.daad and model.onnx");
