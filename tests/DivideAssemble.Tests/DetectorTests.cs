using FluentAssertions;
using NUnit.Framework;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

public sealed class DetectorTests : TempFolderTest
{
    [TestCase(ModelVariant.Daad)]
    [TestCase(ModelVariant.DaadPlus)]
    public void Save_then_load_gives_identical_scores(ModelVariant variant)
    {
        using var scope = NewDisposeScope();
        using var detector = Trained(variant, epochs: 2);
        var test = cat(new[] { Synthetic.Textures(4, 32, 5, false), Synthetic.Textures(4, 32, 6, true) });
        var before = detector.Score(test);
        string path = Path.Combine(dir, "model.daad");
        detector.Save(path);
        Directory.GetFiles(dir).Should().Equal(new[] { path }, "the temporary file is renamed, never left behind");

        using var loaded = AnomalyDetector.Load(path);
        var after = loaded.Score(test);
        loaded.Calibration.Should().Be(detector.Calibration);
        for (int i = 0; i < before.Count; i++)
        {
            after[i].Score.Should().BeApproximately(before[i].Score, 1e-6);
            after[i].IsAnomalous.Should().Be(before[i].IsAnomalous);
            after[i].AlignmentError.HasValue.Should().Be(variant == ModelVariant.DaadPlus);
        }

        using var memory = new MemoryStream();
        detector.Save(memory);
        memory.Position = 0;
        using var fromStream = AnomalyDetector.Load(memory);
        fromStream.Score(test)[0].Score.Should().BeApproximately(before[0].Score, 1e-6);
    }

    [Test]
    public void A_whole_map_memory_starts_from_training_images_and_scores_with_its_distance()
    {
        using var scope = NewDisposeScope();
        var train = Synthetic.Textures(24, 32, 1, false);
        using var detector = Builder(ModelVariant.Daad, epochs: 1).WithBlockDivision(1, 1).Build();
        detector.Options.EffectiveMemoryInit().Should().Be(MemoryInit.Samples);

        // Right after initialisation every item sits on a training image's features: distance ~0 for some image.
        var run = DaadBuilder.Create(detector.Options).Build();
        using (run)
        {
            var buffers = run.Generator.buffers().Select(b => b.clone()).ToList();
            run.Generator.InitialiseMemories(train.split(8), new Random(1));
            run.Generator.buffers().Zip(buffers).All(p => p.First.to(float64).allclose(p.Second.to(float64), 0, 0)).Should().BeTrue("batch-norm statistics are left as they were");
            using var ng = no_grad();
            run.Generator.train();
            var distance = run.Generator.MemoryDistance(train.narrow(0, 0, 8));
            distance.shape.Should().Equal(8);
            distance.min().item<float>().Should().BeLessThan(0.05f, "the first chunk's features are exactly those the items were drawn from");
        }

        detector.Fit(new TensorImageSource(train));
        var test = cat(new[] { Synthetic.Textures(3, 32, 5, false), Synthetic.Textures(3, 32, 6, true) });
        var results = detector.Score(test);
        var calibration = detector.Calibration!;
        calibration.MemoryStd.Should().BeGreaterThan(0).And.NotBe(1, "measured on held-back images");
        foreach (var r in results)
        {
            r.MemoryDistance.Should().NotBeNull().And.BeInRange(0, 2);
            r.Score.Should().BeApproximately(calibration.Combine(r.ReconstructionError, null, r.MemoryDistance, 0.9, ScoringOptions.DefaultMemoryWeight), 1e-9);
        }

        detector.ChangeScoring(new ScoringOptions { MemoryWeight = 0 }, new TensorImageSource(train.narrow(0, 0, 8)));
        detector.Score(test).Should().OnlyContain(r => r.MemoryDistance == null, "a weight of 0 scores by reconstruction alone");
    }

    [Test]
    public void A_model_file_from_before_memory_init_reads_as_uniform_items_and_scores_without_the_distance()
    {
        using var scope = NewDisposeScope();
        using var detector = Builder(ModelVariant.Daad, epochs: 1).WithBlockDivision(1, 1).Build();
        detector.Fit(new TensorImageSource(Synthetic.Textures(16, 32, 1, false)));
        string path = Path.Combine(dir, "v3.daad");
        detector.Save(path);

        // Rewrite it as format 3 (before MemoryInit existed): version field, then the checksum over everything before it.
        var bytes = File.ReadAllBytes(path);
        BitConverter.GetBytes(3).CopyTo(bytes, 8);
        System.Security.Cryptography.SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).CopyTo(bytes, bytes.Length - 32);
        File.WriteAllBytes(path, bytes);

        using var loaded = AnomalyDetector.Load(path);
        loaded.Options.Training.MemoryInit.Should().Be(MemoryInit.Uniform, "models written before format 4 started their items uniformly");
        loaded.Options.EffectiveMemoryWeight().Should().Be(0);
        loaded.Score(Synthetic.Textures(2, 32, 9, true)).Should().OnlyContain(r => r.MemoryDistance == null);
    }

    [Test]
    public void A_head_model_stores_its_score_weight_and_a_file_written_without_one_scores_at_weight_one_as_it_did()
    {
        using var scope = NewDisposeScope();
        using var detector = Builder(ModelVariant.Daad, epochs: 1).WithDiscriminativeHead(width: 4).Build();
        var train = new TensorImageSource(Synthetic.Textures(16, 32, 1, false));
        detector.Fit(train);
        detector.Options.Scoring.HeadWeight.Should().BeNull();
        detector.Options.EffectiveHeadWeight().Should().Be(ScoringOptions.DefaultHeadWeight);
        string path = Path.Combine(dir, "head.daad");
        detector.Save(path);

        // The header holds the number, not null.
        var weight = new System.Text.RegularExpressions.Regex("\"headWeight\":0.5", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        string olderPath = Path.Combine(dir, "older.daad");
        string json = RewriteHeader(path, olderPath, json => weight.Replace(json, "\"headWeight\":null"));
        weight.IsMatch(json).Should().BeTrue(json);
        using (var loaded = AnomalyDetector.Load(path))
        {
            loaded.Options.Scoring.HeadWeight.Should().Be(0.5);
        }

        // A file from before the 0.5 default left it unset, meaning 1: it still scores so.
        using var old = AnomalyDetector.Load(olderPath);
        old.Options.EffectiveHeadWeight().Should().Be(1);
        var atOne = detector.Options.Scoring.Clone();
        atOne.HeadWeight = 1;
        detector.ChangeScoring(atOne, ImageSources.Subset(train, detector.HeldOutIndices(train.Count)));
        var images = Synthetic.Textures(3, 32, 9, true);
        old.Score(images).Select(r => r.Score).Should().Equal(detector.Score(images).Select(r => r.Score), (a, b) => Math.Abs(a - b) < 1e-5);

        // Exports store the number too, and options JSON without it reads as 1.
        ModelMetadata.OptionsToJson(detector.Options).Should().MatchRegex("(?i)\"headWeight\":1");
        var unset = detector.Options.Clone();
        unset.Scoring.HeadWeight = null;
        ModelMetadata.OptionsFromJson(System.Text.Json.JsonSerializer.Serialize(unset, ModelMetadata.Json), "test").Scoring.HeadWeight.Should().Be(1);
    }

    [Test]
    public void Loading_a_bad_file_names_it_and_the_problem()
    {
        using var scope = NewDisposeScope();
        using var detector = Trained(ModelVariant.Daad, epochs: 1);
        string good = Path.Combine(dir, "good.daad");
        detector.Save(good);
        byte[] bytes = File.ReadAllBytes(good);

        string truncated = Path.Combine(dir, "truncated.daad");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        FluentActions.Invoking(() => AnomalyDetector.Load(truncated)).Should().Throw<InvalidDataException>().WithMessage("*truncated.daad* is truncated*");

        string other = Path.Combine(dir, "notes.txt");
        File.WriteAllText(other, "hello, this is not a model");
        FluentActions.Invoking(() => AnomalyDetector.Load(other)).Should().Throw<InvalidDataException>().WithMessage("*notes.txt* is not a DivideAssemble model file*");

        string future = Path.Combine(dir, "future.daad");
        var copy = bytes.ToArray();
        BitConverter.GetBytes(99).CopyTo(copy, 8);
        File.WriteAllBytes(future, copy);
        FluentActions.Invoking(() => AnomalyDetector.Load(future)).Should().Throw<InvalidDataException>().WithMessage("*future.daad* format version 99*reads versions 1 to 5*");

        FluentActions.Invoking(() => AnomalyDetector.Load(Path.Combine(dir, "missing.daad"))).Should().Throw<FileNotFoundException>().WithMessage("*missing.daad*");
    }

    [Test]
    public void Scoring_a_batch_equals_scoring_images_one_by_one()
    {
        using var scope = NewDisposeScope();
        using var detector = Trained(ModelVariant.DaadPlus, epochs: 1);
        var test = cat(new[] { Synthetic.Textures(3, 32, 8, false), Synthetic.Textures(3, 32, 9, true) });
        var batch = detector.Score(test);
        for (int i = 0; i < 6; i++)
        {
            var single = detector.Score(test[i]).Single();
            single.Score.Should().BeApproximately(batch[i].Score, 1e-5 * Math.Max(1, Math.Abs(batch[i].Score)));
            single.ReconstructionError.Should().BeApproximately(batch[i].ReconstructionError, 1e-6 * Math.Max(1, batch[i].ReconstructionError));
            single.AnomalyMap.Zip(batch[i].AnomalyMap, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-5f);
        }
    }

    [Test]
    public void Results_carry_maps_masks_and_regions_at_input_resolution()
    {
        using var scope = NewDisposeScope();
        using var detector = Trained(ModelVariant.Daad, epochs: 3);
        var r = detector.Score(Synthetic.Textures(1, 32, 11, true)).Single();
        r.Size.Should().Be(32);
        r.AnomalyMap.Should().HaveCount(32 * 32);
        r.Reconstruction.Should().HaveCount(32 * 32);
        r.DefectMask.Should().HaveCount(32 * 32);
        r.Regions.Sum(g => g.Area).Should().Be(r.DefectMask.Count(m => m));
        r.Threshold.Should().Be(detector.Calibration!.Threshold);
        r.IsAnomalous.Should().Be(r.Score > r.Threshold);
    }

    [Category("Slow")]
    [Test]
    public void Resuming_a_checkpoint_continues_the_loss_curve_of_an_uninterrupted_run()
    {
        using var scope = NewDisposeScope();
        var source = new TensorImageSource(Synthetic.Textures(40, 32, 1, false));
        using var full = Builder(ModelVariant.DaadPlus, epochs: 4).Build();
        var uninterrupted = full.Fit(source).History;

        string checkpoint = Path.Combine(dir, "run.ckpt");
        using (var first = Builder(ModelVariant.DaadPlus, epochs: 4).Configure(o => o.Training.CheckpointEvery = 2).Build())
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
            first.IsTrained.Should().BeTrue("cancelling leaves a calibrated, usable model");
            first.Score(Synthetic.Textures(1, 32, 3, false)).Single().Score.Should().NotBe(double.NaN);
        }

        var (resumed, summary) = AnomalyDetector.Resume(checkpoint, source);
        using (resumed)
        {
            summary.History.Should().HaveCount(4);
            for (int e = 0; e < 4; e++)
            {
                summary.History[e].Loss.Should().BeApproximately(uninterrupted[e].Loss, 1e-6 * Math.Abs(uninterrupted[e].Loss), $"epoch {e + 1}");
            }
        }
    }

    [Test]
    public void Training_stops_with_a_clear_error_on_a_non_finite_loss()
    {
        using var scope = NewDisposeScope();
        var images = Synthetic.Textures(16, 32, 1, false);
        images[3, 0, 5, 5] = tensor(float.NaN);
        var source = new TensorImageSource(images);
        using var detector = Builder(ModelVariant.Daad, epochs: 1).Configure(o => o.Training.ValidationFraction = 0).Build();
        FluentActions.Invoking(() => detector.Fit(source)).Should().Throw<TrainingDivergedException>()
            .WithMessage("*epoch 1, step *loss is NaN*")
            .Which.Epoch.Should().Be(1);
    }

    [Test]
    public void Seeded_cpu_runs_are_reproducible()
    {
        using var scope = NewDisposeScope();
        var source = new TensorImageSource(Synthetic.Textures(24, 32, 1, false));
        using var a = Builder(ModelVariant.Daad, epochs: 2).Build();
        using var b = Builder(ModelVariant.Daad, epochs: 2).Build();
        a.Fit(source).History.Select(h => h.Loss).Should().Equal(b.Fit(source).History.Select(h => h.Loss));
    }

    [Test]
    public void Progress_reports_every_step_with_losses_and_throughput()
    {
        using var scope = NewDisposeScope();
        var source = new TensorImageSource(Synthetic.Textures(20, 32, 1, false));
        using var detector = Builder(ModelVariant.DaadPlus, epochs: 2).Build();
        var reports = new List<TrainingProgress>();
        detector.Fit(source, new SynchronousProgress<TrainingProgress>(reports.Add));
        reports.Count(r => !r.EndOfEpoch).Should().Be(2 * 3); // 18 training images, batch 8
        reports.Should().OnlyContain(r => r.ImagesPerSecond > 0 && r.AdversarialLoss.HasValue == !r.EndOfEpoch);
        reports.Where(r => r.EndOfEpoch).Should().OnlyContain(r => r.ValidationLoss.HasValue);
    }

    [Test]
    public void Flip_averaging_scores_each_image_as_the_mean_of_its_views_under_the_training_flips()
    {
        using var scope = NewDisposeScope();
        var train = new TensorImageSource(Synthetic.Textures(24, 32, 1, false));
        using var detector = Builder(ModelVariant.DaadPlus, epochs: 1).WithBlockDivision(1, 1).Build();
        detector.Fit(train);
        detector.Options.ScoringViews().Should().Be(4, "training flipped both ways, and flip averaging is on unless turned off");
        var images = Synthetic.Textures(3, 32, 9, true);
        var averaged = detector.Score(images);
        averaged.Should().OnlyContain(r => r.AlignmentError != null && r.MemoryDistance != null, "L and M are averaged too");

        // The same model scoring one view: its maps of the four flipped images, flipped back, average to the map of flip
        // averaging; R, L and M of the views average likewise (R pools the averaged map, so it is at most their mean); the
        // reconstruction is the image's own.
        var normals = ImageSources.Subset(train, detector.HeldOutIndices(train.Count));
        var one = detector.Options.Scoring;
        one.FlipAveraging = false;
        detector.ChangeScoring(one, normals);
        detector.Options.ScoringViews().Should().Be(1);
        var flips = new[] { Array.Empty<long>(), new long[] { 3 }, new long[] { 2 }, new long[] { 2, 3 } };
        var views = flips.Select(d => detector.Score(d.Length == 0 ? images : images.flip(d))).ToArray();
        for (int i = 0; i < 3; i++)
        {
            var expected = new double[32 * 32];
            for (int v = 0; v < flips.Length; v++)
            {
                bool horizontal = flips[v].Contains(3), vertical = flips[v].Contains(2);
                for (int y = 0; y < 32; y++)
                {
                    for (int x = 0; x < 32; x++)
                    {
                        expected[(y * 32) + x] += views[v][i].AnomalyMap[((vertical ? 31 - y : y) * 32) + (horizontal ? 31 - x : x)] / 4.0;
                    }
                }
            }

            string at = $"image {i}";
            averaged[i].AnomalyMap.Zip(expected, (a, e) => Math.Abs(a - e)).Max().Should().BeLessThan(1e-5 * expected.Max(), at);
            averaged[i].AlignmentError!.Value.Should().BeApproximately(views.Average(v => v[i].AlignmentError!.Value), 1e-5 * averaged[i].AlignmentError!.Value, at);
            averaged[i].MemoryDistance!.Value.Should().BeApproximately(views.Average(v => v[i].MemoryDistance!.Value), 1e-5, at);
            averaged[i].ReconstructionError.Should().BeLessThanOrEqualTo(views.Average(v => v[i].ReconstructionError) * (1 + 1e-5), at);
            averaged[i].Reconstruction.Zip(views[0][i].Reconstruction, (a, e) => Math.Abs(a - e)).Max().Should().BeLessThan(1e-5f, at);
        }

        // One view scores a flipped image differently; with the four views every flip of an image scores the same.
        views[1].Zip(views[0], (a, b) => Math.Abs(a.Score - b.Score)).Max().Should().BeGreaterThan(1e-3);
        one.FlipAveraging = null;
        detector.ChangeScoring(one, normals);
        var scores = detector.Score(images).Select(r => r.Score).ToList();
        foreach (var flip in flips.Skip(1))
        {
            detector.Score(images.flip(flip)).Select(r => r.Score).Should().Equal(scores, (a, b) => Math.Abs(a - b) < 1e-4);
        }
    }

    [Test]
    public void A_model_trained_without_flips_or_with_the_paper_preset_scores_one_view()
    {
        var options = new DaadOptions();
        options.ScoringViews().Should().Be(4);
        options.Training.VerticalFlip = false;
        options.ScoringViews().Should().Be(2);
        options.Training.HorizontalFlip = false;
        options.ScoringViews().Should().Be(1, "no flips were learned as normal");
        DaadOptions.Paper.ScoringViews().Should().Be(1, "the paper scores the image alone");
        using var oneView = DaadBuilder.Create().WithImageSize(32).WithArchitecture(3, 8, 32).WithFlipAveraging(false).Build();
        oneView.Options.ScoringViews().Should().Be(1);
        using var flips = DaadBuilder.Create().WithImageSize(32).WithArchitecture(3, 8, 32).WithFlips(true, false).Build();
        flips.Options.ScoringViews().Should().Be(2, "training flips horizontally only");
    }

    [Test]
    public void A_model_stores_flip_averaging_and_a_file_written_before_it_scores_one_view_as_it_did()
    {
        using var scope = NewDisposeScope();
        using var detector = Trained(ModelVariant.Daad, epochs: 1);
        string path = Path.Combine(dir, "model.daad"), olderPath = Path.Combine(dir, "older.daad");
        detector.Save(path);
        string json = RewriteHeader(path, olderPath, json => json.Replace("\"flipAveraging\":true", string.Empty, StringComparison.OrdinalIgnoreCase).Replace(",,", ",", StringComparison.Ordinal).Replace(",}", "}", StringComparison.Ordinal));
        json.Should().ContainEquivalentOf("\"flipAveraging\":true", "files store the resolved value");
        using (var loaded = AnomalyDetector.Load(path))
        {
            loaded.Options.ScoringViews().Should().Be(4);
        }

        using var old = AnomalyDetector.Load(olderPath);
        old.Options.Scoring.FlipAveraging.Should().BeFalse("a file without the field was calibrated on one view");
        old.Options.ScoringViews().Should().Be(1);
        var one = detector.Options.Scoring;
        one.FlipAveraging = false;
        detector.ChangeScoring(one, new TensorImageSource(Synthetic.Textures(4, 32, 2, false)));
        var images = Synthetic.Textures(3, 32, 9, true);
        old.Score(images).Select(r => r.ReconstructionError).Should().Equal(detector.Score(images).Select(r => r.ReconstructionError), (a, b) => Math.Abs(a - b) < 1e-9);
        ModelMetadata.OptionsFromJson("{}", "test").Scoring.FlipAveraging.Should().BeFalse("exports without the field read alike");
    }

    /// <summary>
    /// Writes a copy of model file <paramref name="path"/> to <paramref name="copy"/> with its header JSON edited (as an older
    /// library would have written it) and its checksum made good; returns the original header JSON. The header follows magic,
    /// version and kind: an int32 length, then the JSON.
    /// </summary>
    private static string RewriteHeader(string path, string copy, Func<string, string> edit)
    {
        var bytes = File.ReadAllBytes(path);
        int length = BitConverter.ToInt32(bytes, 16);
        string json = System.Text.Encoding.UTF8.GetString(bytes, 20, length);
        var edited = System.Text.Encoding.UTF8.GetBytes(edit(json));
        var file = bytes[..16].Concat(BitConverter.GetBytes(edited.Length)).Concat(edited).Concat(bytes[(20 + length)..]).ToArray();
        System.Security.Cryptography.SHA256.HashData(file.AsSpan(0, file.Length - 32)).CopyTo(file, file.Length - 32);
        File.WriteAllBytes(copy, file);
        return json;
    }

    internal static AnomalyDetector Trained(ModelVariant variant, int epochs)
    {
        var detector = Builder(variant, epochs).Build();
        var source = new TensorImageSource(Synthetic.Textures(24, 32, 1, false));
        detector.Fit(source);
        return detector;
    }

    internal static DaadBuilder Builder(ModelVariant variant, int epochs) => DaadBuilder.Create()
        .WithVariant(variant)
        .WithImageSize(32)
        .WithChannels(1)
        .WithArchitecture(3, 8, 32)
        .WithBlockDivision(4, 4)
        .WithMemory(20)
        .WithTraining(epochs, 8)
        .WithSeed(3);
}
