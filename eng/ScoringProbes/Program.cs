// Image scores the library does not use, measured against the one it does (docs/defaults.md, "Scoring probes"). For a trained
// reconstruction model (a model with a head is scored without it, w = 0), scored as the library scores by default (the
// views of flip averaging, the smoothed low-pass residual map), the image AUROC of the top-mean of the residual map at
// 1, 2, 3 (the library's), 5 and 10 %; of the top 3 % with a border of 1, 2 or 4 pixels left out; of the top 3 % after
// dividing each pixel by its mean over the held-back normal images ("per-position ratio") or z-scoring it by their mean and
// standard deviation; and, for colour models, of the top 3 % of the per-pixel Mahalanobis distance of the low-passed
// residual's channels (covariance measured on the held-back normals' pixels) against their mean square. Held-back normals:
// the images the model's training held back. Prints one markdown row, ending with how much larger the normals' residual is at
// the border than inside and (colour) the correlations of the residual's channels. Usage:
//   dotnet run --project eng/ScoringProbes -c Release -- <model.daad> <MVTec-style set folder> <test|validation>
using System.Globalization;
using DivideAssemble;
using DivideAssemble.Data;
using DivideAssemble.Evaluation;
using DivideAssemble.Imaging;
using DivideAssemble.Scoring;
using static TorchSharp.torch;

if (args.Length != 3 || args[2] is not ("test" or "validation"))
{
    Console.Error.WriteLine("usage: ScoringProbes <model.daad> <MVTec-style set folder> <test|validation>");
    return 2;
}

var data = Datasets.Mvtec(args[1], null, validation: args[2] == "validation");
using var detector = AnomalyDetector.Load(args[0]);
var normals = ImageSources.Subset(data.Train, detector.HeldOutIndices(data.Train.Count).ToList());
var labels = Enumerable.Range(0, data.Test.Count).Select(data.Test.GetLabel).ToArray();
var options = detector.Options;
options.Scoring.HeadWeight = 0;
options.Scoring.FlipAveraging = null;
var scorer = new AnomalyScorer(detector.Generator, detector.Discriminator, detector.Head, options);
var views = FlipViews.Of(options);
int size = detector.ImageSize, channels = detector.Channels;
double sigma = options.Scoring.ResidualFilterSigma(size);

// The residual map the library pools (views averaged, smoothed), unsmoothed, and for colour models the low-passed residual's
// channels (views averaged back), per image.
(Tensor Map, Tensor Raw, Tensor? Channels) Residuals(IImageSource source)
{
    var reader = new BatchReader(source, channels, size);
    var maps = new List<Tensor>();
    var raws = new List<Tensor>();
    var residuals = new List<Tensor>();
    foreach (var batch in reader.Tensors(Enumerable.Range(0, source.Count).ToArray(), 8, CPU))
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var x = batch;
        var computed = scorer.ComputeMaps(x, null, withHead: false);
        maps.Add(computed.Smoothed.to(float64).MoveToOuterDisposeScope());
        raws.Add(computed.Raw.to(float64).MoveToOuterDisposeScope());
        if (channels > 1)
        {
            // Only the colour probe needs the residual's channels, which ComputeMaps does not return: a second pass.
            // The low-passed residual [V·B, C, S, S], view-major, so its maps [V·B·C, S, S] chunk by view as AverageMaps expects.
            var xv = views.Stack(x);
            var r = AnomalyMaps.Smooth((xv - detector.Generator.call(xv)).flatten(0, 1), sigma);
            residuals.Add(views.AverageMaps(r.reshape(-1, size, size)).reshape(-1, channels, size, size).to(float64).MoveToOuterDisposeScope());
        }
    }

    return (cat(maps, 0), cat(raws, 0), residuals.Count > 0 ? cat(residuals, 0) : null);
}

double[] Top(Tensor maps, double fraction)
{
    var flat = maps.flatten(1);
    int k = TopMeanPooling.TopCount(flat.shape[1], fraction);
    return flat.topk(k, 1).values.mean(new long[] { 1 }).data<double>().ToArray();
}

var (normalMaps, normalRaw, normalResiduals) = Residuals(normals);
var (testMaps, testRaw, testResiduals) = Residuals(data.Test);
var cells = new List<(string Name, double Auroc)>();
void Cell(string name, Tensor maps, double fraction = 0.03) => cells.Add((name, Metrics.Auroc(Top(maps, fraction), labels)));

foreach (double fraction in new[] { 0.01, 0.02, 0.03, 0.05, 0.1 })
{
    Cell(string.Create(CultureInfo.InvariantCulture, $"top {fraction * 100:0} %"), testMaps, fraction);
}

Cell("top 3 % of the unsmoothed map", testRaw);
foreach (int margin in new[] { 1, 2, 4 })
{
    Cell($"border {margin} px left out", testMaps[.., margin..(size - margin), margin..(size - margin)]);
}

// How much larger the held-back normals' unsmoothed residual is in the outer 2 px ring than more than 4 px inside.
var normalMean = normalRaw.mean(new long[] { 0 });
double inner = normalMean[4..(size - 4), 4..(size - 4)].mean().item<double>();
double ring = (normalMean.sum().item<double>() - normalMean[2..(size - 2), 2..(size - 2)].sum().item<double>()) / ((size * size) - ((size - 4) * (size - 4)));
var notes = new List<string> { string.Create(CultureInfo.InvariantCulture, $"normal residual, border ring / inside {ring / inner:F2}") };
var mean = normalMaps.mean(new long[] { 0 });
Cell("per-position ratio", testMaps / mean.clamp_min(1e-12));
Cell("per-position z", (testMaps - mean) / normalMaps.std(0).clamp_min(1e-12));
if (normalResiduals is not null && testResiduals is not null)
{
    var pixels = normalResiduals.permute(1, 0, 2, 3).reshape(channels, -1);
    var pixelMean = pixels.mean(new long[] { 1 }, keepdim: true);
    var centred = pixels - pixelMean;
    var covariance = centred.mm(centred.t()) / pixels.shape[1];
    var deviation = covariance.diag().sqrt();
    var correlation = (covariance / deviation.outer(deviation)).data<double>().ToArray();
    notes.Add("channel correlations " + string.Join(" ", Enumerable.Range(0, channels).SelectMany(i => Enumerable.Range(i + 1, channels - i - 1).Select(j => correlation[(i * channels) + j].ToString("F2", CultureInfo.InvariantCulture)))));
    var inverse = linalg.inv(covariance);
    var f = (testResiduals.permute(0, 2, 3, 1) - pixelMean.squeeze(1)).contiguous();
    Cell("colour: channel mean square", testResiduals.pow(2).mean(new long[] { 1 }));
    Cell("colour: Mahalanobis", (f.matmul(inverse) * f).sum(3));
}

Console.WriteLine($"| {Path.GetFileName(args[0])} | {args[2]} | " + string.Join(" | ", cells.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Name} {c.Auroc:F3}"))) + " | " + string.Join("; ", notes) + " |");
return 0;
