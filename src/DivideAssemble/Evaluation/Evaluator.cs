using System.Diagnostics;

namespace DivideAssemble;

/// <summary>Scores a labelled test set with a trained detector and computes the standard metrics.</summary>
public static class Evaluator
{
    /// <summary>Evaluates <paramref name="detector"/> on <paramref name="testSet"/>.</summary>
    /// <param name="detector">A trained detector.</param>
    /// <param name="testSet">Labelled test images (with masks for pixel metrics).</param>
    /// <param name="dataset">A description of the data for the report.</param>
    /// <param name="onImage">Called with every image's index and result (for example to keep some for pictures).</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <exception cref="ArgumentException">The test set lacks normal or anomalous images.</exception>
    /// <exception cref="InvalidDataException">A mask cannot be read or differs in size from its image.</exception>
    public static EvaluationReport Evaluate(
        IAnomalyDetector detector,
        ILabeledImageSource testSet,
        string? dataset = null,
        Action<int, AnomalyResult>? onImage = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(detector);
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

        var options = detector.Options;
        int batch = Math.Max(1, options.Training.BatchSize);
        var pixels = testSet.HasMasks ? new PixelMetricsAccumulator() : null;
        var records = new ImageRecord[testSet.Count];
        var clock = Stopwatch.StartNew();
        var reader = new BatchReader(testSet, detector.Channels, detector.ImageSize);
        var order = Enumerable.Range(0, testSet.Count).ToArray();
        foreach (var (indices, data) in reader.Batches(order, batch, cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            IReadOnlyList<AnomalyResult> results;
            using (var scope = TorchSharp.torch.NewDisposeScope())
            {
                results = detector.Score(reader.ToTensor(data, TorchSharp.torch.CPU));
            }

            for (int k = 0; k < indices.Count; k++)
            {
                int i = indices[k];
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
                if (pixels is not null)
                {
                    var mask = testSet.ReadMask(i) ?? throw new InvalidDataException($"Image {name} has no mask although the test set has masks.");
                    pixels.Add(Resize(r.AnomalyMap, r.Size, mask.Width, mask.Height), mask);
                }

                onImage?.Invoke(i, r);
            }
        }

        clock.Stop();
        var scores = records.Select(r => r.Score).ToArray();
        var (f1, f1Threshold) = Metrics.F1Max(scores, labels);
        double? threshold = options.Scoring.Threshold ?? detector.Calibration?.Threshold;

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

    /// <summary>Bilinear resize (align-corners false) of a square map to <paramref name="width"/>×<paramref name="height"/>.</summary>
    internal static float[] Resize(float[] map, int size, int width, int height)
    {
        if (width == size && height == size)
        {
            return map;
        }

        var result = new float[width * height];
        double sx = (double)size / width, sy = (double)size / height;
        for (int y = 0; y < height; y++)
        {
            double fy = Math.Clamp(((y + 0.5) * sy) - 0.5, 0, size - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, size - 1);
            double wy = fy - y0;
            for (int x = 0; x < width; x++)
            {
                double fx = Math.Clamp(((x + 0.5) * sx) - 0.5, 0, size - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, size - 1);
                double wx = fx - x0;
                double top = (map[(y0 * size) + x0] * (1 - wx)) + (map[(y0 * size) + x1] * wx);
                double bottom = (map[(y1 * size) + x0] * (1 - wx)) + (map[(y1 * size) + x1] * wx);
                result[(y * width) + x] = (float)((top * (1 - wy)) + (bottom * wy));
            }
        }

        return result;
    }
}
