using DivideAssemble.Graph;
using DivideAssemble.Onnx;
using DivideAssemble.Scoring;
using FluentAssertions;
using NUnit.Framework;
using static TorchSharp.torch;
using A = DivideAssemble.Graph.OnnxGraph.Attribute;

namespace DivideAssemble.Tests;

/// <summary>
/// A scoring method is one type: a pooling defined here, in the test alone, and registered for the test's
/// scope, is used by scoring, by the ONNX export (the same scores on ONNX Runtime) and as its own rows in
/// a selection table, without any other source file knowing it.
/// </summary>
public sealed class ScoringMethodTests : TempFolderTest
{
    private static readonly ImageScorePooling Median = new("Median");

    [Test]
    public void A_pooling_registered_once_scores_exports_and_is_selected_on()
    {
        using var registered = ScoringMethods.Use(poolings: new[] { new MedianPooling() });
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Builder(ModelVariant.Daad, epochs: 1).Configure(o => o.Scoring.Pooling = Median).Build();
        var normals = new TensorImageSource(Synthetic.Textures(24, 32, 1, false));
        detector.Fit(normals);
        var probe = Synthetic.Textures(6, 32, 4, true);

        // Scoring: R is the lower median of each smoothed map, numerically distinct from the built-in poolings.
        var results = detector.Score(probe);
        foreach (var r in results)
        {
            var sorted = r.AnomalyMap.Order().ToArray();
            r.ReconstructionError.Should().BeApproximately(sorted[(sorted.Length - 1) / 2], 1e-7);
            r.ReconstructionError.Should().NotBeApproximately(r.AnomalyMap.Max(), 1e-6).And.NotBeApproximately(r.AnomalyMap.Average(), 1e-6);
        }

        // Export: ONNX Runtime computes the same scores from the graph the method wrote.
        string path = Path.Combine(dir, "median.onnx");
        detector.ExportOnnx(path);
        using var onnx = OnnxAnomalyScorer.Load(path);
        onnx.Options.Scoring.Pooling.Should().Be(Median);
        var floats = probe.contiguous().data<float>().ToArray();
        var images = Enumerable.Range(0, 6).Select(i => new FloatImage(1, 32, 32, floats.AsSpan(i * 1024, 1024).ToArray())).ToList();
        onnx.Score(images).Select(r => r.ReconstructionError).Should().Equal(results.Select(r => r.ReconstructionError), (a, b) => Math.Abs(a - b) <= 1e-4 * Math.Abs(b));
        onnx.Score(images).Select(r => r.Score).Should().Equal(results.Select(r => r.Score), (a, b) => Math.Abs(a - b) <= 1e-3);

        // Selection: its own row, whose AUROC is that of scoring with it the ordinary way.
        var calibration = ImageSources.Subset(normals, detector.HeldOutIndices(normals.Count));
        var labelled = new SyntheticDefects(new TensorImageSource(Synthetic.Textures(8, 32, 5, false)));
        var rows = ModelSelection.ScoreEveryWay(detector, calibration, labelled, new SelectionOptions { Residuals = new List<ResidualKind> { ResidualKind.LowPass }, Poolings = new List<ImageScorePooling> { ImageScorePooling.Mean, Median } });
        rows.Select(r => r.Pooling).Should().Equal(ImageScorePooling.Mean, Median);
        detector.Options.Scoring.Pooling.Should().Be(Median, "scoring every way leaves the detector as it was");
        detector.ChangeScoring(detector.Options.Scoring, calibration);
        rows[1].ImageAuroc.Should().Be(Evaluation.Evaluator.Evaluate(detector, labelled).ImageAuroc);
        new SelectionReport(rows, rows[1], "test", 0, 0, Array.Empty<string>()).ToMarkdown().Should().Contain("| Median |");
    }

    [Test]
    public void An_unregistered_pooling_is_refused_by_name_when_a_detector_is_built()
    {
        var options = DetectorTests.Builder(ModelVariant.Daad, 1).Build().Options;
        options.Scoring.Pooling = Median;
        FluentActions.Invoking(() => new AnomalyDetector(options)).Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>()
            .WithMessage("*Scoring.Pooling: 'Median' is not a pooling this library computes; use Mean, Max or TopMean*");
    }

    /// <summary>The lower median of the smoothed map (as torch.median): the smallest of the largest n − (n − 1)/2 values.</summary>
    private sealed class MedianPooling : PoolingMethod
    {
        public override ImageScorePooling Name => Median;

        public override Tensor Pool(Tensor raw, Tensor smoothed, ScoringOptions scoring)
        {
            var flat = smoothed.flatten(1);
            return flat.topk((int)Count(flat.shape[1]), 1).values.amin(new long[] { 1 });
        }

        public override string Pool(OnnxGraph graph, string raw, string smoothed, int size, ScoringOptions scoring)
        {
            string flat = graph.Reshape(smoothed, 0, -1);
            string[] top = graph.Node("TopK", new[] { flat, graph.Int64s("k", new[] { Count((long)size * size) }, 1) }, 2, A.Int("axis", 1), A.Int("largest", 1), A.Int("sorted", 1));
            return graph.Reduce("ReduceMin", top[0], 1);
        }

        private static long Count(long n) => n - ((n - 1) / 2);
    }
}
