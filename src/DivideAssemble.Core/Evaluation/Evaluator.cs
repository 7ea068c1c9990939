using System.Diagnostics;

namespace DivideAssemble.Evaluation;

/// <summary>Scores a labelled test set with a trained model and computes the standard metrics.</summary>
public static class Evaluator
{
    /// <summary>Evaluates <paramref name="scorer"/> on <paramref name="testSet"/>.</summary>
    /// <param name="scorer">A trained model (either backend).</param>
    /// <param name="testSet">Labelled test images (with masks for pixel metrics).</param>
    /// <param name="dataset">A description of the data for the report.</param>
    /// <param name="onImage">Called with every image's index and result (for example to keep some for pictures).</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <exception cref="ArgumentException">The test set lacks normal or anomalous images.</exception>
    /// <exception cref="InvalidDataException">A mask cannot be read or differs in size from its image.</exception>
    public static EvaluationReport Evaluate(
        IAnomalyScorer scorer,
        ILabeledImageSource testSet,
        string? dataset = null,
        Action<int, AnomalyResult>? onImage = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(testSet);
        if (testSet.Count == 0)
        {
            throw new ArgumentException("The test set is empty.", nameof(testSet));
        }

        var labels = Enumerable.Range(0, testSet.Count).Select(testSet.GetLabel).ToArray();
        if (!labels.Contains(0) || !labels.Contains(1))
        {
            throw new ArgumentException(
                $"The test set needs normal and anomalous images; it has {labels.Count(l => l == 0)} normal and {labels.Count(l => l == 1)} anomalous.", nameof(testSet));
        }

        var options = scorer.Options;
        int batch = Math.Max(1, options.Training.BatchSize);
        var pixels = testSet.HasMasks ? new PixelMetricsAccumulator() : null;
        var records = new ImageRecord[testSet.Count];
        var clock = Stopwatch.StartNew();
        var reader = new ImageBatchReader(testSet, scorer.Channels, scorer.ImageSize);
        var order = Enumerable.Range(0, testSet.Count).ToArray();
        foreach (var images in reader.Batches(order, batch, cancellationToken))
        {
            var results = scorer.Score(images.ToImages());
            for (int k = 0; k < images.Indices.Count; k++)
            {
                int i = images.Indices[k];
                var r = results[k];
                string name = testSet.GetName(i);
                records[i] = new ImageRecord
                {
                    Index = i,
                    Path = name.StartsWith('#') ? null : name,
                    Label = labels[i],
                    Score = r.Score,
                    ReconstructionError = r.ReconstructionError,
                    AlignmentError = r.AlignmentError,
                    IsAnomalous = r.IsAnomalous,
                };
                pixels?.AddImage(testSet, i, r.AnomalyMap, r.Size);

                onImage?.Invoke(i, r);
            }
        }

        clock.Stop();
        var scores = records.Select(r => r.Score).ToArray();
        var (f1, f1Threshold) = Metrics.F1Max(scores, labels);
        double? threshold = options.Scoring.Threshold ?? scorer.Calibration?.Threshold;

        return new EvaluationReport
        {
            ImageAuroc = Metrics.Auroc(scores, labels),
            PixelAuroc = pixels?.PixelAuroc(),
            Aupro = pixels?.Aupro(),
            F1Max = f1,
            F1Threshold = f1Threshold,
            AveragePrecision = Metrics.AveragePrecision(scores, labels),
            Threshold = threshold,
            Accuracy = threshold is null ? null : records.Count(r => r.IsAnomalous == (r.Label == 1)) / (double)records.Length,
            NormalImages = labels.Count(l => l == 0),
            AnomalousImages = labels.Count(l => l == 1),
            Dataset = dataset,
            Settings = options,
            ScoringSeconds = clock.Elapsed.TotalSeconds,
            ImagesPerSecond = testSet.Count / Math.Max(clock.Elapsed.TotalSeconds, 1e-9),
            Images = records,
        };
    }
}
