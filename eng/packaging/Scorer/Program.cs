// A user's scoring-only app: DivideAssemble.Onnx and DivideAssemble.Imaging with ONNX Runtime, no TorchSharp.
// Scores the exported model on the same files and compares with the training app's scores.
//   Scorer <model.onnx> <grass64 folder> <scores.tsv>
using System.Globalization;
using DivideAssemble;
using DivideAssemble.Imaging;
using DivideAssemble.Onnx;

string model = args[0], data = args[1];
var expected = File.ReadAllLines(args[2]).Select(l => l.Split('\t'))
    .ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));
using IAnomalyScorer scorer = OnnxAnomalyScorer.Load(model);
int compared = 0;
double worst = 0;
foreach (var (path, result) in scorer.ScoreFolder(Path.Combine(data, "test"), recursive: true))
{
    double want = expected[Path.GetRelativePath(data, path)];
    worst = Math.Max(worst, Math.Abs(result.Score - want) / Math.Max(1, Math.Abs(want)));
    compared++;
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scored {compared} images on ONNX Runtime; largest difference from TorchSharp {worst:G3} (relative)"));
if (compared != expected.Count || worst > 1e-3)
{
    Console.Error.WriteLine($"error: {compared} of {expected.Count} images compared; difference {worst:G3} above 1e-3");
    return 1;
}

return 0;
