using DivideAssemble.Evaluation;
using DivideAssemble.Onnx;
using FluentAssertions;
using NUnit.Framework;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>Model selection on normal images: what it tries, what it records, its budget, its resumption, and that it never reads a test set.</summary>
[Category("Slow")]
public sealed class SelectionTests : TempFolderTest
{
    private static DaadOptions Tiny(int epochs = 2) => DetectorTests.Builder(ModelVariant.Daad, epochs).Configure(o => o.Network.MemoryItems = 10).Build().Options;

    private static SelectionOptions TwoDivisions(params ImageScorePooling[] poolings) => new()
    {
        Divisions = new List<string> { "2,2,1", "4,4,1" },
        Temperatures = new List<double>(),
        Residuals = new List<ResidualKind> { ResidualKind.LowPass },
        Poolings = poolings.Length > 0 ? poolings.ToList() : new List<ImageScorePooling> { ImageScorePooling.Mean, ImageScorePooling.Max },
        Budget = TimeSpan.FromHours(1),
        CandidateEpochFraction = 0.5,
    };

    private static IImageSource Normals(int count = 30) => new TensorImageSource(Synthetic.Textures(count, 32, 1, false));

    [Test]
    public void Selection_trains_the_winner_and_records_the_choice_in_the_model_and_its_export()
    {
        using var scope = NewDisposeScope();
        var result = ModelSelection.Select(Tiny(), Normals(), TwoDivisions());
        using var detector = result.Detector;
        var report = result.Report;
        report.Candidates.Should().HaveCount(4, "two divisions, one residual, two poolings");
        report.Candidates.Select(c => c.Division).Distinct().Should().Equal("2,2,1", "4,4,1");
        report.Winner.ImageAuroc.Should().Be(report.Candidates.Max(c => c.ImageAuroc));
        report.Candidates.Should().OnlyContain(c => c.Epochs == 1, "candidates train the asked half of the final model's 2 epochs");

        var options = detector.Options;
        options.Network.DescribeDivision().Should().Be(report.Winner.Division);
        options.Scoring.Pooling.Should().Be(report.Winner.Pooling);
        options.Training.Epochs.Should().Be(2);
        result.Training.EpochsCompleted.Should().Be(2);
        result.Training.TrainingImages.Should().BeGreaterThan(24, "the final model trains on every normal image, not the candidates' 80 %");
        detector.Selection.Should().BeSameAs(report);
        detector.Summary().Should().Contain("selected on validation from 4 candidates");
        report.ToMarkdown().Should().Contain("**(chosen)**");

        string path = Path.Combine(dir, "selected.daad");
        detector.Save(path);
        using var loaded = AnomalyDetector.Load(path);
        loaded.Selection!.Winner.Should().Be(report.Winner);
        loaded.Selection.Candidates.Should().Equal(report.Candidates);

        string onnx = Path.Combine(dir, "selected.onnx");
        detector.ExportOnnx(onnx);
        using var exported = OnnxAnomalyScorer.Load(onnx);
        exported.Summary().Should().Contain(report.Describe());
    }

    [Test]
    public void Pooling_many_ways_from_one_scoring_pass_gives_the_auroc_of_scoring_with_each_pooling()
    {
        using var scope = NewDisposeScope();
        SelectAndScoreEachRowAgain(
            Tiny(),
            (row, report) => report.ImageAuroc.Should().BeApproximately(row.ImageAuroc, 1e-9, row.DescribePooling()),
            ImageScorePooling.Mean,
            ImageScorePooling.Max,
            ImageScorePooling.TopMean);
    }

    [Test]
    public void With_a_head_each_weight_s_row_gives_the_image_and_pixel_auroc_of_scoring_with_that_weight()
    {
        using var scope = NewDisposeScope();
        var options = Tiny();
        options.Network.HeadWidth = 4;

        // At 0.5 the map is the mix of both maps, whose scale depends on the pooling, so each row's pixel AUROC is that of its own map.
        var selected = SelectAndScoreEachRowAgain(
            options,
            (row, report) =>
            {
                string at = $"{row.DescribePooling()}, {row.DescribeScore()}";
                report.ImageAuroc.Should().BeApproximately(row.ImageAuroc, 1e-9, at);
                report.PixelAuroc.Should().NotBeNull();
                report.PixelAuroc!.Value.Should().BeApproximately(row.PixelAuroc!.Value, 1e-9, at);
            },
            ImageScorePooling.Mean,
            ImageScorePooling.TopMean);
        selected.Candidates.Select(c => c.HeadWeight).Distinct().Should().Equal(0, 0.5, 1);
    }

    /// <summary>
    /// Selects one division (4,4,1) on synthetic defects painted on every fifth of 30 normals, trying <paramref name="poolings"/>
    /// (top-mean at 5 %), then trains the same candidate again (seeded training repeats bit for bit) and hands
    /// <paramref name="check"/> each row with the evaluation of that candidate scored the ordinary way, the row's way.
    /// </summary>
    private static SelectionReport SelectAndScoreEachRowAgain(DaadOptions options, Action<SelectionCandidate, EvaluationReport> check, params ImageScorePooling[] poolings)
    {
        var normals = Normals();
        var selection = TwoDivisions(poolings);
        selection.Divisions = new List<string> { "4,4,1" };
        selection.TopFractions = new List<double> { 0.05 };
        var fit = ImageSources.Subset(normals, Enumerable.Range(0, 30).Where(i => i % 5 != 4).ToList());
        var validation = new SyntheticDefects(ImageSources.Subset(normals, Enumerable.Range(0, 30).Where(i => i % 5 == 4).ToList()));
        var result = ModelSelection.SelectOnSplit(options, fit, validation, normals, "test split", selection);
        result.Detector.Dispose();

        using var candidate = new AnomalyDetector(ModelSelection.Candidate(options, "4,4,1", options.Network.MemoryTemperature, 1));
        candidate.Fit(fit);
        var calibration = ImageSources.Subset(fit, candidate.HeldOutIndices(fit.Count));
        foreach (var row in result.Report.Candidates)
        {
            var scoring = candidate.Options.Scoring;
            scoring.Pooling = row.Pooling;
            scoring.TopFraction = row.TopFraction ?? scoring.TopFraction;
            scoring.HeadWeight = row.HeadWeight;
            candidate.ChangeScoring(scoring, calibration);
            check(row, Evaluator.Evaluate(candidate, validation));
        }

        return result.Report;
    }

    [Test]
    public void A_budget_too_small_for_one_candidate_fails_before_any_training()
    {
        var selection = TwoDivisions();
        selection.Budget = TimeSpan.FromMilliseconds(1);
        var reports = new List<SelectionProgress>();
        FluentActions.Invoking(() => ModelSelection.Select(Tiny(), Normals(), selection, progress: new Recorder(reports)))
            .Should().Throw<ArgumentException>().WithMessage("*budget of 0 s is less than one candidate's estimated training time*");
        reports.Should().BeEmpty("nothing was trained");
    }

    [Test]
    public void Too_few_images_or_bad_selection_options_are_refused_with_the_reason()
    {
        FluentActions.Invoking(() => ModelSelection.Select(Tiny(), Normals(9)))
            .Should().Throw<ArgumentException>().WithMessage("*at least 10 normal images*there are 9*");
        var bad = TwoDivisions();
        bad.Divisions = new List<string> { "3,3,1" };
        FluentActions.Invoking(() => ModelSelection.Select(Tiny(), Normals(), bad))
            .Should().Throw<ArgumentException>().WithMessage("*'3,3,1' does not fit this network*HeightRatio: 3 does not divide*");
        bad = TwoDivisions();
        bad.TopFractions = new List<double> { 0 };
        FluentActions.Invoking(() => ModelSelection.Select(Tiny(), Normals(), bad))
            .Should().Throw<ArgumentException>().WithMessage("*SelectionOptions.TopFractions*");
    }

    [Test]
    public void An_interrupted_selection_continues_without_retraining_finished_candidates()
    {
        using var scope = NewDisposeScope();
        string state = Path.Combine(dir, "model.selection.json");
        using var cancel = new CancellationTokenSource();
        var first = new List<SelectionProgress>();
        var progress = new Recorder(first, p =>
        {
            if (p.Stage.Contains("4,4,1", StringComparison.Ordinal))
            {
                cancel.Cancel();
            }
        });
        FluentActions.Invoking(() => ModelSelection.Select(Tiny(), Normals(), TwoDivisions(), state, progress, cancellationToken: cancel.Token))
            .Should().Throw<OperationCanceledException>();
        File.Exists(state).Should().BeTrue("finished candidates are recorded");

        var second = new List<SelectionProgress>();
        var result = ModelSelection.Select(Tiny(), Normals(), TwoDivisions(), state, new Recorder(second));
        using var detector = result.Detector;
        second.Should().NotContain(p => p.Stage.Contains("2,2,1", StringComparison.Ordinal), "the first candidate was finished before the interruption");
        result.Report.Candidates.Should().HaveCount(4);
        File.Exists(state).Should().BeFalse("the state is deleted once the final model is trained");
        Directory.GetFiles(dir).Should().BeEmpty("no checkpoint or temporary file is left behind");

        var other = TwoDivisions();
        other.Poolings = new List<ImageScorePooling> { ImageScorePooling.Max };
        File.WriteAllText(state, File.Exists(state) ? string.Empty : "{\"Signature\":\"another\"}");
        FluentActions.Invoking(() => ModelSelection.Select(Tiny(), Normals(), other, state))
            .Should().Throw<ArgumentException>().WithMessage("*belongs to another selection*");
    }

    [Test]
    public async Task Daad_train_select_never_opens_the_test_folder_and_saves_the_table()
    {
        TestImages.MvtecCategory(dir, "cat", train: 20, good: 2, defects: new[] { "blob" }, perDefect: 2, size: 32);
        string category = Path.Combine(dir, "cat");
        Directory.Delete(Path.Combine(category, "test"), recursive: true);
        Directory.Delete(Path.Combine(category, "ground_truth"), recursive: true);
        string model = Path.Combine(dir, "selected.daad");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = await DivideAssemble.Cli.DaadTool.RunAsync(
            new[]
            {
                "train", "--data", category, "--format", "mvtec", "--model", "daad", "--image-size", "32", "--memory", "10", "--epochs", "2",
                "--batch", "4", "--width", "8", "--depth", "3", "--seed", "1", "--division", "4,4,1", "--temperature", "0.1", "--select", "--out", model,
            },
            stdout,
            stderr);
        stderr.ToString().Should().BeEmpty();
        code.Should().Be(0, stdout.ToString());
        stdout.ToString().Should().Contain("the test folder is never read").And.Contain("**(chosen)**").And.Contain("selected on validation");
        File.ReadAllText(model + ".selection.md").Should().Contain("| division | T | residual | pooling |");
        File.Exists(model + ".selection.json").Should().BeFalse();

        using var info = new StringWriter();
        (await DivideAssemble.Cli.DaadTool.RunAsync(new[] { "info", model }, info, stderr)).Should().Be(0);
        info.ToString().Should().Contain("selected on validation from").And.Contain("division 4,4,1");
    }

    [Test]
    public async Task Daad_train_select_on_a_labelled_folder_trains_candidates_on_every_training_image_and_refuses_a_folder_it_cannot_judge_on()
    {
        TestImages.MvtecCategory(dir, "cat", train: 20, good: 3, defects: new[] { "blob" }, perDefect: 3, size: 32);
        string category = Path.Combine(dir, "cat");
        string held = Path.Combine(dir, "held");
        Directory.Move(Path.Combine(category, "test"), held);
        Directory.Delete(Path.Combine(category, "ground_truth"), recursive: true);
        string model = Path.Combine(dir, "selected.daad");
        string[] Args(string folder) => new[]
        {
            "train", "--data", category, "--format", "mvtec", "--model", "daad", "--image-size", "32", "--memory", "10", "--epochs", "2",
            "--batch", "4", "--width", "8", "--depth", "3", "--seed", "1", "--division", "4,4,1", "--temperature", "0.1", "--select", "--select-budget", "10", "--select-on", folder, "--out", model,
        };

        var (code, stdout, stderr) = await CliTests.Run(Args(held));
        stderr.Should().BeEmpty();
        code.Should().Be(0, stdout);
        stdout.Should().Contain("20 training images; settings chosen on the labelled folder").And.Contain("(3 normal, 3 anomalous images)").And.Contain("**(chosen)**");
        stdout.Should().Contain("on 18 images (2 held back)", "the final model, like every candidate, trains on all 20 training images but the share calibration holds back");
        stdout.Should().NotContain("training the final model", "the one candidate trained on the same images as long as the final model: it is the final model");
        File.ReadAllText(model + ".selection.md").Should().Contain("settings chosen on the labelled folder");
        File.Delete(model);

        // A folder with only normal images, or one that shares a file with training, cannot judge the candidates.
        string goodOnly = Path.Combine(dir, "good-only");
        Directory.CreateDirectory(Path.Combine(goodOnly, "good"));
        File.Copy(Path.Combine(held, "good", "000.png"), Path.Combine(goodOnly, "good", "000.png"));
        (code, _, stderr) = await CliTests.Run(Args(goodOnly));
        code.Should().Be(2);
        stderr.Should().Contain($"--select-on '{goodOnly}' needs normal images in good/").And.Contain("it has 1 normal and 0 anomalous");

        // train/ itself, with a defect folder beside train/good (which MVTec training reads): its good/ images are the training images.
        Directory.Move(Path.Combine(held, "blob"), Path.Combine(category, "train", "blob"));
        (code, _, stderr) = await CliTests.Run(Args(Path.Combine(category, "train")));
        code.Should().Be(2);
        stderr.Should().Contain("holds a training image").And.Contain(Path.Combine(category, "train", "good", "000.png"));
        File.Exists(model).Should().BeFalse("a refused selection writes no model");
    }

    [Test]
    public void When_reconstruction_wins_over_the_head_the_final_model_trains_without_one()
    {
        using var scope = NewDisposeScope();
        var options = Tiny();
        options.Network.HeadWidth = 4;
        var selection = TwoDivisions(ImageScorePooling.Mean);
        selection.Divisions = new List<string> { "4,4,1" };
        selection.HeadWeights = new List<double> { 0 };
        var result = ModelSelection.Select(options, Normals(), selection);
        using var detector = result.Detector;
        result.Report.Candidates.Should().OnlyContain(c => c.HeadWeight == 0 && c.DescribeScore() == "reconstruction");
        detector.Options.Network.HasHead.Should().BeFalse("the head would never score");
        detector.Options.EffectiveHeadEpochs().Should().Be(0);
        result.Training.EpochsCompleted.Should().Be(2, "only the generator's epochs train");
    }

    [Test]
    public void Judged_on_labelled_images_of_its_own_the_winning_candidate_is_the_final_model_and_nothing_trains_twice()
    {
        using var scope = NewDisposeScope();
        var options = Tiny();
        options.Network.HeadWidth = 4;
        var selection = TwoDivisions(ImageScorePooling.Mean);
        selection.CandidateEpochFraction = 1;
        var normals = Normals();
        var labelled = SyntheticValidation.Of(new TensorImageSource(Synthetic.Textures(6, 32, 7, false)));
        var reports = new List<SelectionProgress>();
        var result = ModelSelection.SelectOnSplit(options, normals, labelled, normals, "labelled images of the caller's", selection, progress: new Recorder(reports));
        using var detector = result.Detector;

        reports.Should().NotContain(r => r.Stage == "training the final model", "the winner's candidate trained on the same images as long as the final model would");
        reports.Where(r => r.Stage.StartsWith("training ", StringComparison.Ordinal)).Select(r => r.Stage).Distinct().Should().HaveCount(2, "two divisions, each trained once");
        var winner = result.Report.Winner;
        detector.Options.Network.DescribeDivision().Should().Be(winner.Division);
        detector.Options.EffectiveHeadWeight().Should().Be(winner.HeadWeight!.Value, "the kept candidate scores the winner's way, head or reconstruction");
        result.Training.EpochsCompleted.Should().Be(4, "two generator epochs, then two head epochs");
        detector.Calibration.Should().BeSameAs(result.Training.Calibration);

        // The kept candidate is the model a fresh run with the winner's settings trains: same seed, same images.
        var fresh = detector.Options.Clone();
        using var again = new AnomalyDetector(fresh);
        again.Fit(normals);
        var image = labelled.Count - 1;
        detector.Score(ImageSources.Subset(labelled, new[] { image })).Single().Score
            .Should().BeApproximately(again.Score(ImageSources.Subset(labelled, new[] { image })).Single().Score, 1e-4);
    }

    private sealed class Recorder(List<SelectionProgress> reports, Action<SelectionProgress>? also = null) : IProgress<SelectionProgress>
    {
        public void Report(SelectionProgress value)
        {
            reports.Add(value);
            also?.Invoke(value);
        }
    }
}

/// <summary>How selection chooses among scored candidates (no training).</summary>
public sealed class SelectionChoiceTests
{
    private static SelectionCandidate Row(string division, double auroc, ImageScorePooling? pooling = null, double? fraction = 0.03) =>
        new(division, 0.1, ResidualKind.LowPass, pooling ?? ImageScorePooling.TopMean, auroc, null, 1, 1) { TopFraction = (pooling ?? ImageScorePooling.TopMean) == ImageScorePooling.TopMean ? fraction : null };

    private static DaadOptions Configured()
    {
        var o = DaadOptions.Default; // at 128 px: division 16,16,1, T 0.1, low-pass residual, top 3 %
        o.Network.ImageSize = 128;
        o.Network.MemoryTemperature = 0.1;
        return o;
    }

    [Test]
    public void The_configured_settings_stay_unless_a_candidate_beats_them_by_more_than_the_required_standard_errors()
    {
        var options = Configured();
        var selection = new SelectionOptions();
        double se = Metrics.AurocStandardError(0.60, 40, 40);
        se.Should().BeApproximately(0.063, 0.002);

        var close = new[] { Row("16,16,1", 0.60), Row("8,8,1", 0.60 + (0.9 * se)), Row("16,16,1", 0.58, ImageScorePooling.Mean) };
        var (winner, configured, gain) = DivideAssemble.Selection.SelectionChoice.Choose(close, options, selection, 40, 40);
        winner.Should().BeSameAs(close[0], "the best candidate is within one standard error of the configured settings");
        configured.Should().BeSameAs(close[0]);
        gain.Should().BeApproximately(se, 1e-12);
        new SelectionReport(close, winner, "v", 1, 1, Array.Empty<string>()) { Configured = configured, RequiredGain = gain }
            .Describe().Should().Contain("configured settings kept");

        var clear = new[] { Row("16,16,1", 0.60), Row("8,8,1", 0.60 + (1.1 * se)) };
        DivideAssemble.Selection.SelectionChoice.Choose(clear, options, selection, 40, 40).Winner.Should().BeSameAs(clear[1]);

        selection.RequiredStandardErrors = 0;
        DivideAssemble.Selection.SelectionChoice.Choose(close, options, selection, 40, 40).Winner.Should().BeSameAs(close[1], "0 takes the best AUROC");
    }

    [Test]
    public void Without_the_configured_settings_among_the_candidates_the_best_wins()
    {
        var rows = new[] { Row("16,16,1", 0.60, ImageScorePooling.Mean), Row("8,8,1", 0.61, ImageScorePooling.Max) };
        var (winner, configured, gain) = DivideAssemble.Selection.SelectionChoice.Choose(rows, Configured(), new SelectionOptions(), 40, 40);
        winner.Should().BeSameAs(rows[1]);
        configured.Should().BeNull();
        gain.Should().BeNull();
    }

    [Test]
    public void The_auroc_standard_error_shrinks_with_the_square_root_of_the_images()
    {
        double small = Metrics.AurocStandardError(0.8, 25, 25), large = Metrics.AurocStandardError(0.8, 2500, 2500);
        (small / large).Should().BeApproximately(10, 0.2);
        Metrics.AurocStandardError(1.0, 10, 10).Should().Be(0);
        Metrics.AurocStandardError(0.7, 0, 10).Should().Be(0);
    }
}
