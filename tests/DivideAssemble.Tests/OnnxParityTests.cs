using DivideAssemble.Onnx;
using FluentAssertions;
using NUnit.Framework;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>
/// An exported model on ONNX Runtime scores like the TorchSharp detector it came from: raw R and L to
/// 1e-4 relative, maps and reconstructions to 1e-4 of their largest value, calibrated scores to 1e-3,
/// the same decisions — for every variant and division, grey and colour, 32 and 64 px, batches of 1 and 5.
/// </summary>
public sealed class OnnxParityTests : TempFolderTest
{
    private static readonly (ModelVariant Variant, string Division)[] Models =
    {
        (ModelVariant.Autoencoder, "-"),
        (ModelVariant.AutoencoderSkip, "-"),
        (ModelVariant.MemAE, "pixel"),
        (ModelVariant.Daad, "pixel"),
        (ModelVariant.Daad, "1,1,1"),
        (ModelVariant.Daad, "8,8,1"),
        (ModelVariant.Daad, "16,16,4"),
        (ModelVariant.Daad, "4,4,2"),
        (ModelVariant.DaadPlus, "8,8,1"),
        (ModelVariant.DaadPlus, "16,16,4"),
    };

    public static IEnumerable<TestCaseData> Cases() =>
        from m in Models
        from channels in new[] { 1, 3 }
        from size in new[] { 32, 64 }
        select new TestCaseData(m.Variant, m.Division, channels, size).SetName($"Onnx_parity({m.Variant}, {m.Division}, {channels}ch, {size}px)");

    [TestCaseSource(nameof(Cases))]
    public void Onnx_runtime_scores_like_the_torchsharp_detector(ModelVariant variant, string division, int channels, int size) =>
        CheckParity(variant, division, channels, size, _ => { });

    [TestCase("Max", 0.0, 0.0, 0.0)]
    [TestCase("TopMean", 1.5, 0.0, 0.0)]
    [TestCase("Mean", 0.0, 3.0, 0.05)]
    public void Scoring_options_are_baked_into_the_graph_alike(string pooling, double residualSigma, double mapSigma, double shrink) =>
        CheckParity(ModelVariant.Daad, "4,4,1", 1, 32, o =>
        {
            o.Scoring.Pooling = new ImageScorePooling(pooling);
            o.Scoring.ResidualSigma = residualSigma;
            o.Scoring.SmoothingSigma = mapSigma;
            o.Network.ShrinkThreshold = shrink;
        });

    [TestCase(0.0)]
    [TestCase(0.4)]
    [TestCase(1.0)]
    public void The_memory_distance_is_baked_into_the_graph_with_its_weight(double weight) =>
        CheckParity(ModelVariant.Daad, "1,1,1", 1, 32, o => o.Scoring.MemoryWeight = weight);

    [TestCase(ModelVariant.Daad, "4,4,1", 1, 32, "Mean")]
    [TestCase(ModelVariant.Daad, "8,8,1", 3, 64, "TopMean")]
    [TestCase(ModelVariant.DaadPlus, "8,8,1", 3, 32, "Max")]
    public void A_multi_scale_residual_scores_alike_with_the_normalisers_baked_in(ModelVariant variant, string division, int channels, int size, string pooling) =>
        CheckParity(variant, division, channels, size, o =>
        {
            o.Scoring.Residual = ResidualKind.MultiScale;
            o.Scoring.Pooling = new ImageScorePooling(pooling);
        });

    [TestCase(ModelVariant.Daad, 1, 32, 1.0)]
    [TestCase(ModelVariant.Daad, 3, 32, 1.0)]
    [TestCase(ModelVariant.Daad, 3, 64, 0.5)]
    [TestCase(ModelVariant.DaadPlus, 1, 32, 0.3)]
    public void A_discriminative_head_is_exported_with_its_map_as_the_pixel_output(ModelVariant variant, int channels, int size, double headWeight) =>
        CheckParity(variant, "4,4,1", channels, size, o =>
        {
            o.Network.HeadWidth = 8;
            o.Training.Restoration = true;
            o.Scoring.HeadWeight = headWeight;
        });

    [TestCase(true, false, null)]
    [TestCase(true, true, false)]
    public void Flip_averaging_is_exported_with_the_views_it_averages(bool horizontal, bool vertical, bool? flipAveraging) =>
        CheckParity(ModelVariant.DaadPlus, "1,1,1", 3, 32, o =>
        {
            o.Training.HorizontalFlip = horizontal;
            o.Training.VerticalFlip = vertical;
            o.Scoring.FlipAveraging = flipAveraging;
        });

    internal static AnomalyDetector Train(ModelVariant variant, string division, int channels, int size, Action<DaadOptions> configure)
    {
        var builder = DaadBuilder.Create()
            .WithVariant(variant)
            .WithImageSize(size)
            .WithChannels(channels)
            .WithArchitecture(3, 8, 32)
            .WithMemory(20)
            .WithTraining(1, 8)
            .WithSeed(5)
            .Configure(o => o.Network.DiscriminatorBaseWidth = 8);
        if (division == "pixel")
        {
            builder.WithPixelBlocks();
        }
        else if (division != "-")
        {
            var r = division.Split(',').Select(int.Parse).ToArray();
            builder.WithBlockDivision(r[0], r[1], r[2]);
        }

        builder.Configure(configure);
        var detector = builder.Build();
        detector.Fit(new TensorImageSource(Synthetic.Textures(16, size, 1, false, channels)));
        return detector;
    }

    private void CheckParity(ModelVariant variant, string division, int channels, int size, Action<DaadOptions> configure)
    {
        using var scope = NewDisposeScope();
        using var detector = Train(variant, division, channels, size, configure);
        string path = Path.Combine(dir, "model.onnx");
        detector.ExportOnnx(path).Should().Equal(Path.GetFullPath(path));
        using var onnx = OnnxAnomalyScorer.Load(path);
        onnx.Options.Should().BeEquivalentTo(ModelMetadata.Stored(detector.Options), "the export stores the options with their defaults resolved");
        onnx.Calibration.Should().Be(detector.Calibration);
        double weight = detector.Options.EffectiveHeadWeight();
        detector.Calibration!.HeadMapScale.HasValue.Should().Be(weight is > 0 and < 1, "the maps are mixed only between head weights 0 and 1");
        if (detector.Calibration.HeadMapScale is { } scale)
        {
            // The mix's constants are baked into the graph: another scale cannot apply, and recalibrating keeps the baked one.
            FluentActions.Invoking(() => onnx.UseCalibration(detector.Calibration with { HeadMapScale = scale * 2 }))
                .Should().Throw<ArgumentException>().WithMessage("*HeadMapScale*Export again*");
            onnx.Calibrate(new TensorImageSource(Synthetic.Textures(6, size, 23, false, channels))).HeadMapScale.Should().Be(scale);
            onnx.UseCalibration(detector.Calibration);
        }

        var images = cat(new[] { Synthetic.Textures(3, size, 21, false, channels), Synthetic.Textures(2, size, 22, true, channels) });
        foreach (int batch in new[] { 1, 5 })
        {
            var x = images.narrow(0, 0, batch);
            var expected = detector.Score(x);
            var floats = x.contiguous().data<float>().ToArray();
            var (raw, graphScores) = onnx.Run(floats, batch);
            var actual = onnx.Score(Enumerable.Range(0, batch).Select(i => new FloatImage(channels, size, size, floats.AsSpan(i * channels * size * size, channels * size * size).ToArray())).ToList());
            for (int i = 0; i < batch; i++)
            {
                var e = expected[i];
                string at = $"image {i} of {batch}";
                Relative(raw[i].ReconstructionError, e.ReconstructionError).Should().BeLessThan(1e-4, $"R, {at}");
                if (variant == ModelVariant.DaadPlus)
                {
                    Relative(raw[i].AlignmentError!.Value, e.AlignmentError!.Value).Should().BeLessThan(1e-4, $"L, {at}");
                }
                else
                {
                    raw[i].AlignmentError.Should().BeNull();
                }

                raw[i].MemoryDistance.HasValue.Should().Be(e.MemoryDistance.HasValue, $"M is output when the score uses it, {at}");
                raw[i].HeadScore.HasValue.Should().Be(e.HeadScore.HasValue, $"H is output when the score uses it, {at}");
                if (e.HeadScore is { } h)
                {
                    Math.Abs(raw[i].HeadScore!.Value - h).Should().BeLessThan(1e-5 + (1e-4 * Math.Abs(h)), $"H, {at}");
                }

                if (e.MemoryDistance is { } m)
                {
                    Math.Abs(raw[i].MemoryDistance!.Value - m).Should().BeLessThan(1e-5 + (1e-4 * Math.Abs(m)), $"M, {at}");
                }

                MaxDifference(raw[i].AnomalyMap, e.AnomalyMap).Should().BeLessThanOrEqualTo(1e-4 * e.AnomalyMap.Max(Math.Abs), $"map, {at}");
                MaxDifference(raw[i].Reconstruction, e.Reconstruction).Should().BeLessThanOrEqualTo(1e-4 * e.Reconstruction.Max(Math.Abs), $"reconstruction, {at}");
                // The calibrated score is linear in H with slope w/σ_H: H's tolerance carries over through that slope.
                double headSlack = e.HeadScore is { } hs ? (1e-5 + (1e-4 * Math.Abs(hs))) / detector.Calibration!.HeadStd : 0;
                actual[i].Score.Should().BeApproximately(e.Score, 1e-3 + headSlack, $"calibrated score, {at}");
                ((double)graphScores[i]).Should().BeApproximately(e.Score, (1e-3 * Math.Max(1, Math.Abs(e.Score))) + headSlack, $"the graph's own 'scores' output, {at}");
                if (Math.Abs(e.Score - e.Threshold) > 1e-3)
                {
                    actual[i].IsAnomalous.Should().Be(e.IsAnomalous, $"decision, {at}");
                }
            }
        }
    }

    private static double Relative(double a, double b) => Math.Abs(a - b) / Math.Max(Math.Abs(b), 1e-12);

    private static double MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Max();
}
