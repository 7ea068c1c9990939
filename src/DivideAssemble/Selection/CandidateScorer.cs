using System.Diagnostics;
using DivideAssemble.Evaluation;
using DivideAssemble.Scoring;

namespace DivideAssemble.Selection;

/// <summary>
/// Trains a network candidate and scores it every way — each residual kind × each pooling (and its
/// selection settings) — without retraining: per residual kind the model scores the calibration images and
/// the labelled images once, and every pooling's TorchSharp form pools the same maps.
/// </summary>
internal static class CandidateScorer
{
    /// <summary>
    /// Trains one network candidate and scores it every way; calibration uses the images training held back.
    /// With <paramref name="keep"/> the trained candidate is returned (the caller owns it) instead of disposed.
    /// </summary>
    public static (List<SelectionCandidate> Rows, AnomalyDetector? Kept, TrainingSummary Summary) TrainAndScore(
        DaadOptions options, string division, double temperature, IImageSource train, ILabeledImageSource validation, SelectionOptions selection,
        IProgress<TrainingProgress> progress, bool keep, CancellationToken cancellationToken)
    {
        var detector = new AnomalyDetector(options);
        bool handedOver = false;
        try
        {
            var clock = Stopwatch.StartNew();
            var summary = detector.Fit(train, progress, cancellationToken);
            double seconds = clock.Elapsed.TotalSeconds;
            var rows = ScoreEveryWay(detector, CalibrationImages(detector, train), validation, selection, cancellationToken)
                .Select(c => c with { Division = division, Temperature = temperature, TrainingSeconds = seconds })
                .ToList();
            handedOver = keep;
            return (rows, keep ? detector : null, summary);
        }
        finally
        {
            if (!handedOver)
            {
                detector.Dispose();
            }
        }
    }

    /// <summary>The images training held back from <paramref name="train"/> (all of them when it held back none): what calibrates a model trained on it.</summary>
    public static IImageSource CalibrationImages(AnomalyDetector detector, IImageSource train)
    {
        var held = detector.HeldOutIndices(train.Count);
        return ImageSources.Subset(train, held.Count > 0 ? held : Enumerable.Range(0, train.Count).ToList());
    }

    /// <summary>
    /// Scores a trained model every way on labelled images (each residual kind × pooling, and with a
    /// discriminative head each head weight of <see cref="SelectionOptions.HeadWeights"/>); the detector's
    /// scoring and calibration are restored afterwards.
    /// </summary>
    public static List<SelectionCandidate> ScoreEveryWay(AnomalyDetector detector, IImageSource calibrationImages, ILabeledImageSource images, SelectionOptions selection, CancellationToken cancellationToken)
    {
        var methods = ScoringMethods.Current;
        var poolings = selection.Poolings.Distinct()
            .Select(methods.Pooling)
            .SelectMany(p => p.SelectionFractions(selection).Select(fraction => (Method: p, Fraction: fraction)))
            .ToList();
        var residuals = selection.Residuals.Distinct().Select(methods.Residual).ToList();
        var labels = Enumerable.Range(0, images.Count).Select(images.GetLabel).ToArray();
        var options = detector.Options;
        var headWeights = options.Network.HasHead ? selection.HeadWeights.Distinct().Select(w => (double?)w).ToList() : new List<double?> { null };
        var (scoringBefore, calibrationBefore) = (options.Scoring, detector.Calibration);
        var rows = new List<SelectionCandidate>();
        try
        {
            foreach (var residual in residuals)
            {
                var scoring = options.Scoring.Clone();
                scoring.Residual = residual.Name;
                scoring = residual.ForSelection(scoring);
                detector.ChangeScoring(scoring, calibrationImages, cancellationToken);
                var variants = poolings.Select(p => WithPooling(scoring, p.Method, p.Fraction)).ToList();
                var normal = detector.ScorePoolings(calibrationImages, variants, null, cancellationToken);
                double gamma = scoring.Gamma, memoryWeight = detector.Options.EffectiveMemoryWeight();

                // Per head weight and pooling: the statistics of the held-back normals, and (with masks) the pixel metrics of
                // the map that weight scores with — the residual's at 0, the head's at 1, both mixed in between.
                var statistics = headWeights.Select(w => variants.Select((_, v) =>
                    ScoreCalibration.Statistics(normal.Reconstruction[v], normal.Alignment, normal.Memory, w > 0 ? normal.Head![v] : null, heldOut: true).ForHeadWeight(w ?? 0)).ToArray()).ToArray();
                var pixels = headWeights.Select(w => PixelAccumulators(images.HasMasks, variants.Count, w ?? 0)).ToArray();

                var test = detector.ScorePoolings(images, variants, !images.HasMasks ? null : (i, map, headMap, size) =>
                {
                    for (int k = 0; k < headWeights.Count; k++)
                    {
                        double w = headWeights[k] ?? 0;
                        for (int v = 0; v < variants.Count; v++)
                        {
                            if (ScoreCalibration.MixesMaps(w))
                            {
                                pixels[k][v]!.AddImage(images, i, statistics[k][v].MixMaps(map, headMap!, w), size);
                            }
                            else if (v == 0)
                            {
                                pixels[k][v]!.AddImage(images, i, w > 0 ? headMap! : map, size);
                            }
                        }
                    }
                }, cancellationToken);
                for (int k = 0; k < headWeights.Count; k++)
                {
                    var headWeight = headWeights[k];
                    for (int v = 0; v < variants.Count; v++)
                    {
                        bool useHead = headWeight > 0;
                        var scores = test.Reconstruction[v].Select((r, i) => statistics[k][v].Combine(r, test.Alignment?[i], test.Memory?[i], useHead ? test.Head![v][i] : null, gamma, memoryWeight, headWeight ?? 0)).ToList();
                        double? pixel = pixels[k][v]?.PixelAuroc();
                        rows.Add(new SelectionCandidate(options.Network.DescribeDivision(), options.Network.MemoryTemperature, residual.Name, poolings[v].Method.Name, Metrics.Auroc(scores, labels), pixel, 0, options.Training.Epochs)
                        {
                            TopFraction = poolings[v].Fraction,
                            HeadWeight = headWeight,
                        });
                    }
                }
            }
        }
        finally
        {
            detector.RestoreScoring(scoringBefore, calibrationBefore);
        }

        return rows;
    }

    /// <summary>One pixel-metrics accumulator per pooling for a head weight that mixes the maps (the mix depends on the pooling's spreads), else one shared by all; none without masks.</summary>
    private static PixelMetricsAccumulator?[] PixelAccumulators(bool masks, int poolings, double headWeight)
    {
        if (!masks)
        {
            return new PixelMetricsAccumulator?[poolings];
        }

        var one = ScoreCalibration.MixesMaps(headWeight) ? null : new PixelMetricsAccumulator();
        return Enumerable.Range(0, poolings).Select(_ => one ?? new PixelMetricsAccumulator()).ToArray();
    }

    private static ScoringOptions WithPooling(ScoringOptions scoring, PoolingMethod pooling, double? fraction)
    {
        var copy = scoring.Clone();
        copy.Pooling = pooling.Name;
        copy.TopFraction = fraction ?? copy.TopFraction;
        return copy;
    }
}
