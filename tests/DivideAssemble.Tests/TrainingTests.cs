using FluentAssertions;
using NUnit.Framework;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

public sealed class TrainingTests : TorchTest
{
    [Category("Slow")]
    [TestCase(ModelVariant.Daad)]
    [TestCase(ModelVariant.DaadPlus)]
    public void A_short_real_training_run_separates_normal_from_anomalous(ModelVariant variant)
    {
        using var scope = NewDisposeScope();
        var train = new TensorImageSource(Synthetic.Textures(96, 32, seed: 1, anomalous: false));
        var normal = Synthetic.Textures(20, 32, seed: 2, anomalous: false);
        var anomalous = Synthetic.Textures(20, 32, seed: 3, anomalous: true);
        using var detector = SmallBuilder(variant).Build();

        var summary = detector.Fit(train);

        var scores = detector.Score(cat(new[] { normal, anomalous })).Select(r => r.Score).ToList();
        var labels = Enumerable.Repeat(0, 20).Concat(Enumerable.Repeat(1, 20)).ToList();
        double auroc = Metrics.Auroc(scores, labels);
        TestContext.Out.WriteLine($"{variant}: image AUROC {auroc:F3} after {summary.EpochsCompleted} epochs in {summary.Duration.TotalSeconds:F1} s; history {string.Join(", ", summary.History.Select(h => h.ReconstructionLoss.ToString("G3")))}");
        auroc.Should().BeGreaterThanOrEqualTo(0.9);
        summary.History.Last().ReconstructionLoss.Should().BeLessThan(summary.History.First().ReconstructionLoss);
        summary.AddressingEntropy.Keys.Should().Equal(1, 2, 3);
        summary.AddressingEntropy.Values.Should().OnlyContain(e => e > 0 && e <= 1.0001);
    }

    internal static DaadBuilder SmallBuilder(ModelVariant variant) => DaadBuilder.Create()
        .WithVariant(variant)
        .WithImageSize(32)
        .WithChannels(1)
        .WithArchitecture(depth: 3, baseWidth: 16, maxWidth: 64)
        .WithBlockDivision(4, 4, 1)
        .WithMemory(50)
        .WithTraining(epochs: 8, batchSize: 8)
        .WithSeed(7)
        .Configure(o =>
        {
            o.Training.LearningRate = 2e-3;
            o.Training.DiscriminatorLearningRate = 2e-4;
            o.Scoring.SmoothingSigma = 1;
            o.Scoring.Pooling = ImageScorePooling.Max;
        });
}
