// Would pooling the anomaly map beat the library's image score? For a model with a discriminative head (docs/synthetic-anomalies.md,
// "The map at w = 0.5"): at head weights 0, 1 and 0.5 the model is recalibrated on the normal images its training held back, every
// test image is scored, and the image AUROC of the library's score is printed beside that of the mean of the top 1 %, 3 % and 10 %
// of each image's anomaly map (at 0.5 the mixed map). Usage:
//   dotnet run --project eng/MapPooling -c Release -- <model.daad> <MVTec-style set folder> <test|validation>
using System.Globalization;
using DivideAssemble;
using DivideAssemble.Evaluation;
using DivideAssemble.Imaging;

if (args.Length != 3 || args[2] is not ("test" or "validation"))
{
    Console.Error.WriteLine("usage: MapPooling <model.daad> <MVTec-style set folder> <test|validation>");
    return 2;
}

var data = Datasets.Mvtec(args[1], null, validation: args[2] == "validation");
using var detector = AnomalyDetector.Load(args[0]);
if (!detector.Options.Network.HasHead)
{
    Console.Error.WriteLine($"{args[0]}: the model has no discriminative head (Network.HeadWidth is 0).");
    return 2;
}

var heldOut = detector.HeldOutIndices(data.Train.Count);
var normals = ImageSources.Subset(data.Train, heldOut.Count > 0 ? heldOut : Enumerable.Range(0, data.Train.Count).ToList());
var labels = Enumerable.Range(0, data.Test.Count).Select(data.Test.GetLabel).ToArray();
var cells = new List<string>();
foreach (double weight in new[] { 0.0, 1.0, 0.5 })
{
    var scoring = detector.Options.Scoring;
    scoring.HeadWeight = weight;
    detector.ChangeScoring(scoring, normals);
    var results = detector.Score(data.Test);
    cells.Add(string.Create(CultureInfo.InvariantCulture, $"w = {weight}: score {Metrics.Auroc(results.Select(r => r.Score).ToList(), labels):F3}"));
    foreach (double fraction in new[] { 0.01, 0.03, 0.1 })
    {
        double auroc = Metrics.Auroc(results.Select(r => TopMean(r.AnomalyMap, fraction)).ToList(), labels);
        cells.Add(string.Create(CultureInfo.InvariantCulture, $"map top {fraction:P0} {auroc:F3}"));
    }
}

Console.WriteLine($"{Path.GetFileName(args[0])} {args[2]} | {string.Join(" | ", cells)}");
return 0;

static double TopMean(float[] map, double fraction)
{
    int count = Math.Max(1, (int)Math.Ceiling(map.Length * fraction));
    return map.OrderByDescending(v => v).Take(count).Average(v => (double)v);
}
