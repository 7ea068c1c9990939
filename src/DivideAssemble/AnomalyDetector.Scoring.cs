using DivideAssemble.Data;
using DivideAssemble.Scoring;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>The detector's scoring: scores, calibration, changes of scoring, and what model selection measures.</summary>
public sealed partial class AnomalyDetector
{
    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(Tensor images) => Read(() => Scorer.Score(images));

    /// <inheritdoc />
    public AnomalyResult Score(FloatImage image) => Read(() => Scorer.Score(image));

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IReadOnlyList<FloatImage> images) => Read(() => Scorer.Score(images));

    /// <inheritdoc />
    public IReadOnlyList<AnomalyResult> Score(IImageSource images, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        _ = Scorer;
        return ModelInput.ScoreAll(images, Channels, ImageSize, options.Training.BatchSize, (data, count) => Read(() => Scorer.Score(data, count)), cancellationToken);
    }

    /// <inheritdoc />
    public ScoreCalibration Calibrate(IImageSource normalImages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(normalImages);
        return Write(() => Scorer.Calibrate(normalImages, cancellationToken));
    }

    /// <inheritdoc />
    public void UseCalibration(ScoreCalibration calibration)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        Write(() =>
        {
            Scorer.UseCalibration(calibration);
            return 0;
        });
    }

    /// <summary>
    /// Changes the scoring options (pooling, smoothing, residual filter, target rates) and recalibrates
    /// on <paramref name="normalImages"/> (ideally ones training held back, see <see cref="HeldOutIndices"/>):
    /// new scoring options change R(x), so the old calibration no longer applies.
    /// </summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The scoring options are invalid.</exception>
    /// <exception cref="ArgumentException">The source is empty.</exception>
    public ScoreCalibration ChangeScoring(ScoringOptions scoring, IImageSource normalImages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scoring);
        ArgumentNullException.ThrowIfNull(normalImages);
        var candidate = options.Clone();
        candidate.Scoring = scoring.Clone();
        ScoringRules.ThrowIfInvalid(candidate);
        return Write(() =>
        {
            var next = new AnomalyScorer(generator, discriminator, head, candidate);
            var calibration = next.Calibrate(normalImages, cancellationToken);
            scorer = next;
            options.Scoring = candidate.Scoring;
            return calibration;
        });
    }

    /// <summary>Returns the mean addressing entropy over log N of every memory scale on (up to a batch of) <paramref name="images"/>: 1 means reads are the bank's average, values near 0 mean each block reads a few items.</summary>
    public IReadOnlyDictionary<int, double> AddressingEntropy(IImageSource images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var reader = new BatchReader(images, Channels, ImageSize);
        var batch = Enumerable.Range(0, Math.Min(images.Count, options.Training.BatchSize)).ToArray();
        if (batch.Length == 0)
        {
            return new Dictionary<int, double>();
        }

        return Read(() =>
        {
            using var scope = NewDisposeScope();
            return generator.AddressingEntropy(reader.ToTensor(reader.ReadFloats(batch), device));
        });
    }

    /// <summary>
    /// Pools the maps of every image of <paramref name="images"/> with each scoring of <paramref name="variants"/>
    /// (which differ from the detector's in pooling only), from one scoring pass: per variant the raw R of
    /// every image (and with a discriminative head the raw H), and L and M when the score uses them.
    /// <paramref name="onMaps"/> receives each image's index, its residual map, its head map (or
    /// <see langword="null"/>) and the side.
    /// </summary>
    internal PooledScores ScorePoolings(IImageSource images, IReadOnlyList<ScoringOptions> variants, Action<int, float[], float[]?, int>? onMaps, CancellationToken cancellationToken) => Read(() =>
    {
        var methods = variants.Select(v => ScoringMethods.Current.Pooling(v.Pooling)).ToList();
        var reader = new BatchReader(images, Channels, ImageSize);
        var scores = new PooledScores(variants.Count, images.Count, discriminator is not null, options.EffectiveMemoryWeight() > 0, head is not null);
        int size = ImageSize;
        foreach (var batch in reader.Batches(Enumerable.Range(0, images.Count).ToArray(), options.Training.BatchSize, cancellationToken))
        {
            using var scope = NewDisposeScope();
            var maps = Scorer.ComputeMaps(reader.ToTensor(batch.Data, CPU), Calibration?.ResidualNormalisers, withHead: head is not null);
            for (int v = 0; v < variants.Count; v++)
            {
                scores.Add(scores.Reconstruction[v], batch.Indices, methods[v].Pool(maps.Raw, maps.Smoothed, variants[v]));
                if (maps.Head is not null)
                {
                    scores.Add(scores.Head![v], batch.Indices, methods[v].Pool(maps.Head, maps.HeadSmoothed!, variants[v]));
                }
            }

            scores.Add(scores.Alignment, batch.Indices, maps.Alignment);
            scores.Add(scores.Memory, batch.Indices, maps.MemoryDistance);
            if (onMaps is not null)
            {
                var residual = maps.Smoothed.to(float32).cpu().contiguous().data<float>().ToArray();
                var headMaps = maps.HeadSmoothed?.to(float32).cpu().contiguous().data<float>().ToArray();
                for (int k = 0; k < batch.Indices.Count; k++)
                {
                    onMaps(batch.Indices[k], residual.AsSpan(k * size * size, size * size).ToArray(), headMaps?.AsSpan(k * size * size, size * size).ToArray(), size);
                }
            }
        }

        return scores;
    });

    /// <summary>Puts back scoring options and a calibration taken from this detector earlier (no recalibration).</summary>
    internal void RestoreScoring(ScoringOptions scoring, ScoreCalibration? calibration)
    {
        var restored = options.Clone();
        restored.Scoring = scoring.Clone();
        Write(() =>
        {
            scorer = new AnomalyScorer(generator, discriminator, head, restored, calibration);
            options.Scoring = restored.Scoring;
            return 0;
        });
    }
}
