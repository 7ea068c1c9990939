using System.Text.Json;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>
/// Training on synthetic anomalies: SSIM against scikit-image, the focal loss by hand, the synthesis
/// (seeded, about half clean, masks that cover what changed, colour on colour images, the caller's random
/// streams untouched), the discriminative head's shapes, and restoration training end to end.
/// </summary>
public sealed class SyntheticAnomalyTests : TempFolderTest
{
    [Test]
    public void Ssim_matches_scikit_image_on_reference_pairs()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "ssim.json")));
        foreach (var c in json.RootElement.GetProperty("cases").EnumerateArray())
        {
            using var scope = NewDisposeScope();
            int channels = c.GetProperty("channels").GetInt32(), size = c.GetProperty("size").GetInt32();
            var a = tensor(c.GetProperty("a").EnumerateArray().Select(v => v.GetSingle()).ToArray(), new long[] { 1, channels, size, size }).to(float64);
            var b = tensor(c.GetProperty("b").EnumerateArray().Select(v => v.GetSingle()).ToArray(), new long[] { 1, channels, size, size }).to(float64);
            double expected = c.GetProperty("ssim").GetDouble();
            Losses.Ssim(a, b).item<double>().Should().BeApproximately(expected, 1e-6, $"{channels}×{size}×{size}");
            Losses.Ssim(a, a).item<double>().Should().BeApproximately(1, 1e-9, "an image is perfectly similar to itself");
        }
    }

    [Test]
    public void The_focal_loss_is_the_mean_of_minus_one_minus_pt_squared_times_log_pt()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { 2f, -1f, 0.5f, -3f }, new long[] { 1, 1, 2, 2 });
        var target = tensor(new float[] { 1f, 1f, 0f, 0f }, new long[] { 1, 1, 2, 2 });
        double expected = new[] { (2.0, 1), (-1.0, 1), (0.5, 0), (-3.0, 0) }.Select(p =>
        {
            double prob = 1 / (1 + Math.Exp(-p.Item1));
            double pt = p.Item2 == 1 ? prob : 1 - prob;
            return -Math.Pow(1 - pt, 2) * Math.Log(pt);
        }).Average();
        Losses.Focal(logits, target).item<float>().Should().BeApproximately((float)expected, 1e-6f);
        Losses.Focal(tensor(new float[] { -80f, 80f }).reshape(1, 1, 1, 2), tensor(new float[] { 1f, 0f }).reshape(1, 1, 1, 2)).isfinite().item<bool>().Should().BeTrue("log-sigmoids keep confident mistakes finite");
    }

    [Test]
    public void Synthesis_is_seeded_paints_about_half_of_the_images_and_its_masks_cover_what_changed()
    {
        using var scope = NewDisposeScope();
        var options = new TrainingOptions();
        var synthesis = new AnomalySynthesis(options);
        var x = Synthetic.Textures(64, 32, 3, false);
        using var before = torch.Generator.Default.get_state();
        var (images, masks) = synthesis.Apply(x, new Random(5));
        var (again, againMasks) = synthesis.Apply(x, new Random(5));
        TensorAssert.Same(images, again).Should().BeTrue("the same seed paints the same anomalies");
        TensorAssert.Same(masks, againMasks).Should().BeTrue();
        using var after = torch.Generator.Default.get_state();
        after.data<byte>().ToArray().Should().Equal(before.data<byte>().ToArray(), "synthesis never draws from libtorch's generator");

        images.shape.Should().Equal(64, 1, 32, 32);
        masks.shape.Should().Equal(64, 1, 32, 32);
        ((images.max().item<float>() <= 1) && (images.min().item<float>() >= -1)).Should().BeTrue("images stay in [-1, 1]");
        masks.unique().output.data<float>().ToArray().Should().BeSubsetOf(new[] { 0f, 1f });
        var painted = masks.flatten(1).amax(new long[] { 1 }).data<float>().ToArray();
        painted.Count(p => p > 0).Should().BeInRange(20, 44, "about half of 64 images carry an anomaly");

        // Labels mark what visibly changed: every labelled pixel's 3×3 mean absolute change is above 0.05, and a
        // changed pixel left unlabelled changed less than that around it.
        var change = images.sub(x).abs();
        var local = nn.functional.avg_pool2d(change, 3, stride: 1, padding: 1, count_include_pad: false);
        local.masked_select(masks.gt(0.5.ToScalar())).min().item<float>().Should().BeGreaterThan(0.05f);
        local.masked_select(masks.lt(0.5.ToScalar()).logical_and(change.gt(0.ToScalar()))).max().item<float>().Should().BeLessThanOrEqualTo(0.05f + 1e-6f);
        for (int i = 0; i < 64; i++)
        {
            if (painted[i] == 0)
            {
                TensorAssert.Same(images[i], x[i]).Should().BeTrue($"image {i} is clean and unchanged");
            }
        }

        var faint = new TrainingOptions { MinAnomalyOpacity = 0.1, MaxAnomalyOpacity = 0.2, CleanFraction = 0 };
        var (weak, weakMasks) = new AnomalySynthesis(faint).Apply(x, new Random(6));
        var delta = weak.sub(x).abs().masked_select(weakMasks.gt(0.5.ToScalar()));
        delta.max().item<float>().Should().BeLessThanOrEqualTo(0.2f * 2 + 1e-5f, "an opacity of at most 0.2 moves a pixel by at most 0.2 of the [-1, 1] range");
    }

    [Test]
    public void On_colour_images_anomalies_change_colour_not_only_brightness()
    {
        using var scope = NewDisposeScope();
        var x = Synthetic.Textures(32, 32, 4, false, channels: 3); // grey content in three equal channels
        var (images, _) = new AnomalySynthesis(new TrainingOptions { CleanFraction = 0, MinAnomalyOpacity = 1 }).Apply(x, new Random(3));
        var painted = images.sub(x).abs().amax(new long[] { 1 }).gt(0.ToScalar());
        var channelSpread = images.amax(new long[] { 1 }).sub(images.amin(new long[] { 1 }));
        channelSpread.masked_select(painted).max().item<float>().Should().BeGreaterThan(0.2f, "painted regions are coloured");
        channelSpread.masked_select(painted.logical_not()).max().item<float>().Should().BeLessThan(1e-6f, "grey stays grey where nothing was painted");
    }

    [Test]
    public void The_head_maps_an_image_and_its_reconstruction_to_one_logit_per_pixel()
    {
        using var scope = NewDisposeScope();
        using var head = new DiscriminativeHead(3, 32, 8, 3);
        var x = Synthetic.Textures(2, 32, 1, false, 3);
        head.call(x, x).shape.Should().Equal(2, 1, 32, 32);
        head.Probability(x, x).shape.Should().Equal(2, 32, 32);
        FluentActions.Invoking(() => new DiscriminativeHead(1, 36, 8, 3)).Should().Throw<ArgumentException>().WithMessage("HeadDepth:*divisible by 2^3 = 8; got 36*");
        var options = DaadOptions.Default;
        options.Network.ImageSize = 36;
        options.Network.Depth = 2;
        options.Network.HeadWidth = 8;
        DaadOptionsValidator.Collect(options).Should().Contain(e => e.StartsWith("Network.HeadDepth:", StringComparison.Ordinal));
    }

    [Test]
    [Category("Slow")]
    public void A_model_with_a_head_and_restoration_trains_saves_loads_and_resumes_bit_for_bit()
    {
        using var scope = NewDisposeScope();
        var source = new TensorImageSource(Synthetic.Textures(32, 32, 1, false));
        DaadBuilder Build() => DetectorTests.Builder(ModelVariant.Daad, 2).Configure(o =>
        {
            o.Network.HeadWidth = 8;
            o.Training.Restoration = true;
            o.Training.KeepBest = true;
        });
        using var full = Build().Build();
        var uninterrupted = full.Fit(source).History;
        uninterrupted.Select(e => e.Epoch).Should().Equal(1, 2, 3, 4);
        uninterrupted.Take(2).Should().OnlyContain(e => e.HeadLoss == null && e.ValidationLoss > 0, "the generator trains first");
        uninterrupted.Skip(2).Should().OnlyContain(e => e.HeadLoss > 0 && e.ValidationLoss > 0, "then the head, for as many epochs");

        var probe = cat(new[] { Synthetic.Textures(3, 32, 8, false), Synthetic.Textures(3, 32, 9, true) });
        var results = full.Score(probe);
        results.Should().OnlyContain(r => r.HeadScore != null, "the score uses the head");
        results.Take(3).Max(r => r.Score).Should().BeLessThan(results.Skip(3).Max(r => r.Score));
        string path = Path.Combine(dir, "head.daad");
        full.Save(path);
        using (var loaded = AnomalyDetector.Load(path))
        {
            loaded.Options.Network.HeadWidth.Should().Be(8);
            loaded.HeadParameterCount.Should().Be(full.HeadParameterCount).And.BeGreaterThan(0);
            loaded.Score(probe).Select(r => r.Score).Should().Equal(results.Select(r => r.Score));
            loaded.Summary().Should().Contain("discriminative head").And.Contain("the head for 2 epochs");
        }

        // Interrupted at the end of the generator's epochs: the resumed run starts the head's from the checkpoint's kept-best generator.
        string checkpoint = Path.Combine(dir, "head.ckpt");
        using (var first = Build().Configure(o => o.Training.CheckpointEvery = 1).Build())
        {
            using var cts = new CancellationTokenSource();
            var progress = new SynchronousProgress<TrainingProgress>(p =>
            {
                if (p.EndOfEpoch && p.Epoch == 2)
                {
                    cts.Cancel();
                }
            });
            FluentActions.Invoking(() => first.FitWithCheckpoints(source, checkpoint, progress, cts.Token)).Should().Throw<OperationCanceledException>();
        }

        var (resumed, summary) = AnomalyDetector.Resume(checkpoint, source);
        using (resumed)
        {
            summary.History.Select(e => (e.Loss, e.HeadLoss)).Should().Equal(uninterrupted.Select(e => (e.Loss, e.HeadLoss)), "the head, its optimiser and the synthesis resume exactly");
            resumed.Score(probe).Select(r => r.Score).Should().Equal(results.Select(r => r.Score));
        }
    }

    [Test]
    [Category("Slow")]
    public void The_head_trains_on_a_frozen_generator_that_is_the_generator_of_the_same_model_without_a_head()
    {
        using var scope = NewDisposeScope();
        var source = new TensorImageSource(Synthetic.Textures(24, 32, 1, false));
        using var plain = DetectorTests.Builder(ModelVariant.Daad, 2).WithDiscriminativeHead(0).Build();
        using var headed = DetectorTests.Builder(ModelVariant.Daad, 2).WithDiscriminativeHead(8).Configure(o => o.Training.HeadEpochs = 1).Build();
        var plainHistory = plain.Fit(source).History;
        var headedHistory = headed.Fit(source).History;
        headedHistory.Take(2).Select(e => (e.Loss, e.ValidationLoss)).Should().Equal(plainHistory.Select(e => (e.Loss, e.ValidationLoss)), "the generator's epochs are those of a model without a head");
        headedHistory.Should().HaveCount(3);
        var a = plain.Generator.state_dict();
        var b = headed.Generator.state_dict();
        b.Keys.Should().BeEquivalentTo(a.Keys);
        foreach (var (key, value) in a)
        {
            b[key].equal(value).all().item<bool>().Should().BeTrue($"the head's epoch leaves the generator's {key} as it was");
        }

        var probe = Synthetic.Textures(2, 32, 8, false);
        headed.Score(probe).Should().OnlyContain(r => r.HeadScore != null);
        headed.Options.EffectiveRestoration().Should().BeFalse("restoration is off unless asked for");
    }

    [Test]
    public void Between_head_weights_0_and_1_the_map_mixes_the_residual_and_head_maps_as_the_score_mixes_their_terms()
    {
        using var scope = NewDisposeScope();
        using var detector = OnnxParityTests.Train(ModelVariant.Daad, "4,4,1", 1, 32, o =>
        {
            o.Network.HeadWidth = 8;
            o.Scoring.HeadWeight = 0.25;
        });
        var normals = new TensorImageSource(Synthetic.Textures(12, 32, 3, false));
        detector.Calibrate(normals);
        var mixedCalibration = detector.Calibration!;
        mixedCalibration.HeadMapScale.Should().Be(mixedCalibration.ReconstructionStd / mixedCalibration.HeadStd, "σ_R/σ_H brings the head's map to the residual's scale");
        detector.Summary().Should().Contain("mixed into the residual map");
        var probe = cat(new[] { Synthetic.Textures(2, 32, 8, false), Synthetic.Textures(2, 32, 9, true) });
        var mixed = detector.Score(probe);

        float[][] MapsAt(double weight)
        {
            var scoring = detector.Options.Scoring;
            scoring.HeadWeight = weight;
            detector.ChangeScoring(scoring, normals);
            return detector.Score(probe).Select(r => r.AnomalyMap).ToArray();
        }

        var residual = MapsAt(0);
        detector.Calibration!.HeadMapScale.Should().BeNull("at w = 0 the map is the residual's");
        var head = MapsAt(1);
        detector.Calibration!.HeadMapScale.Should().BeNull("at w = 1 the map is the head's probability");
        for (int i = 0; i < mixed.Count; i++)
        {
            var expected = residual[i].Zip(head[i], (r, h) => (0.75f * r) + ((float)(0.25 * mixedCalibration.HeadMapScale!.Value) * h)).ToArray();
            mixed[i].AnomalyMap.Zip(expected, (a, e) => Math.Abs(a - e)).Max().Should().BeLessThan(1e-6f, $"image {i}");
        }

        // The pixel threshold is the quantile of the mixed maps of the calibration images, not of either map.
        MapsAt(0.25);
        detector.Calibration.Should().Be(mixedCalibration);
        var normalPixels = detector.Score(normals).SelectMany(r => r.AnomalyMap).Select(v => (double)v).ToList();
        mixedCalibration.PixelThreshold.Should().BeApproximately(ScoreCalibration.Quantile(normalPixels, 1 - detector.Options.Scoring.PixelFalsePositiveRate), 1e-9);

        // A calibration measured before maps were mixed keeps the head's map, for which its pixel threshold was measured.
        detector.UseCalibration(mixedCalibration with { HeadMapScale = null });
        detector.Score(probe).Select(r => r.AnomalyMap).Should().BeEquivalentTo(head, o => o.WithStrictOrdering());
        FluentActions.Invoking(() => ModelMetadata.CalibrationFromJson(ModelMetadata.CalibrationToJson(mixedCalibration with { HeadMapScale = -1 }), "m.daad"))
            .Should().Throw<InvalidDataException>().WithMessage("m.daad holds an invalid calibration*head map's scale*");
    }
}
