using System.Text.Json;
using DivideAssemble.Cli;
using FluentAssertions;
using NUnit.Framework;

namespace DivideAssemble.Tests;

public sealed class CliTests : TempFolderTest
{
    [TestCase("8,8,1", 8, 8, 1, false)]
    [TestCase(" 2, 4,16 ", 2, 4, 16, false)]
    [TestCase("Pixel", 16, 16, 1, true)]
    public void Division_parses_ratios_or_pixel(string text, int rh, int rw, int rc, bool pixel)
    {
        var network = new NetworkOptions { ImageSize = 128, ChannelRatio = 4 };
        Arguments.SetDivision(network, text, "division");
        (network.ResolvedHeightRatio, network.ResolvedWidthRatio, network.ChannelRatio, network.PerPixel).Should().Be((rh, rw, rc, pixel));
        network.DescribeDivision().Should().Be(pixel ? "pixel" : $"{rh},{rw},{rc}");
    }

    [TestCase("8,8")]
    [TestCase("8,x,1")]
    [TestCase("0,8,1")]
    [TestCase("+8,8,1")]
    public void Bad_divisions_are_usage_errors_that_quote_them(string text)
    {
        FluentActions.Invoking(() => Arguments.SetDivision(new NetworkOptions(), text, "division")).Should().Throw<UsageException>().WithMessage($"option --division: '{text}' is not a block division*");
        FluentActions.Invoking(() => ModelSelection.Candidate(DaadOptions.Default, text, 0.1, 1)).Should().Throw<ArgumentException>().WithMessage($"SelectionOptions.Divisions: '{text}' is not a block division*");
    }

    [Test]
    public void Options_flags_and_positionals_are_parsed()
    {
        var a = Arguments.Parse(new[] { "score", "--model", "m.daad", "a.png", "--json", "--threads=2", "b.png" }, new HashSet<string> { "json" });
        a.Command.Should().Be("score");
        a.Required("model").Should().Be("m.daad");
        a.Flag("json").Should().BeTrue();
        a.Int("threads", 0, 8).Should().Be(2);
        a.Positionals.Should().Equal("a.png", "b.png");
        a.RejectUnknown();
    }

    [TestCase(new[] { "train", "--epochs" }, "option --epochs needs a value")]
    [TestCase(new[] { "train", "--epochs", "1", "--epochs", "2" }, "option --epochs is given twice")]
    [TestCase(new[] { "frobnicate" }, "unknown command 'frobnicate'*")]
    [TestCase(new[] { "train", "--data", "x", "--format", "mvtec", "--select-on", "held", "--out", "m" }, "--select-on applies to --select")]
    [TestCase(new[] { "train", "--data", "x", "--format", "jpeg", "--out", "m" }, "option --format: 'jpeg' is not one of*")]
    [TestCase(new[] { "train", "--format", "mvtec", "--out", "m" }, "train: missing required option --data")]
    [TestCase(new[] { "eval", "--model", "m", "--report", "r.json", "--data", "x", "--format", "idx" }, "--format idx needs --normal-class <k>")]
    [TestCase(new[] { "eval", "--model", "m", "--report", "r.json", "--data", "x", "--format", "idx", "--normal-class", "1" }, "*IDX folder 'x' does not exist*")]
    public async Task Errors_are_exactly_one_line_on_stderr_with_a_non_zero_exit(string[] args, string message)
    {
        var (code, stdout, stderr) = await Run(args);
        code.Should().NotBe(0);
        stdout.Should().BeEmpty();
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle();
        lines[0].Should().StartWith("error: ").And.Match("error: " + message).And.NotContain(" at DivideAssemble");
    }

    [Test]
    public async Task Bad_paths_name_the_path_and_verbose_adds_the_trace()
    {
        string missing = Path.Combine(dir, "nowhere");
        var (code, _, stderr) = await Run("train", "--data", missing, "--format", "mvtec", "--model", "daad", "--out", Path.Combine(dir, "m.daad"));
        code.Should().Be(1);
        stderr.Trim().Should().Be($"error: The MVTec category folder '{missing}' does not exist.");
        var (_, _, verbose) = await Run("info", Path.Combine(dir, "missing.daad"), "--verbose");
        verbose.Should().Contain("FileNotFoundException").And.Contain(" at ");
    }

    [Test]
    public async Task Train_eval_score_and_info_run_end_to_end_on_a_tiny_mvtec_folder()
    {
        TestImages.MvtecCategory(dir, "tiny", train: 12, good: 2, defects: new[] { "blob" }, perDefect: 3, size: 32);
        string category = Path.Combine(dir, "tiny");
        string model = Path.Combine(dir, "tiny.daad");
        var (code, stdout, stderr) = await Run("train", "--data", dir, "--category", "tiny", "--format", "mvtec", "--model", "daad+",
            "--image-size", "32", "--division", "4,4,1", "--memory", "10", "--epochs", "1", "--batch", "4", "--width", "8", "--depth", "3", "--seed", "1", "--out", model);
        stderr.Should().BeEmpty();
        code.Should().Be(0);
        stdout.Should().Contain("epoch 1/1").And.Contain("model written to");
        File.Exists(model).Should().BeTrue();

        string report = Path.Combine(dir, "out", "report.json");
        string pictures = Path.Combine(dir, "out", "pictures");
        (code, stdout, stderr) = await Run("eval", "--model", model, "--data", category, "--format", "mvtec", "--report", report, "--pictures", pictures);
        stderr.Should().BeEmpty();
        code.Should().Be(0);
        stdout.Should().MatchRegex(@"image AUROC: [01]\.\d{3}");
        using (var json = JsonDocument.Parse(File.ReadAllText(report)))
        {
            json.RootElement.GetProperty("images").GetArrayLength().Should().Be(5);
            json.RootElement.GetProperty("pixelAuroc").ValueKind.Should().Be(JsonValueKind.Number);
        }

        Directory.GetFiles(pictures, "*.png").Should().Contain(p => p.EndsWith("roc.png", StringComparison.Ordinal)).And.Contain(p => Path.GetFileName(p).StartsWith("panel-", StringComparison.Ordinal));

        string bad = Path.Combine(dir, "bad.png");
        File.WriteAllText(bad, "not an image");
        string good = Path.Combine(category, "test", "good", "000.png");
        (code, stdout, stderr) = await Run("score", "--model", model, good, bad, "--json");
        code.Should().Be(1, "one input failed");
        stderr.Trim().Should().StartWith("error: ").And.Contain("bad.png");
        using (var scores = JsonDocument.Parse(stdout))
        {
            scores.RootElement.GetArrayLength().Should().Be(1);
            scores.RootElement[0].GetProperty("path").GetString().Should().Be(good);
        }

        (code, stdout, _) = await Run("score", "--model", model, Path.Combine(category, "test", "good"));
        code.Should().Be(0);
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(2);

        (code, stdout, _) = await Run("info", model);
        code.Should().Be(0);
        stdout.Should().Contain("DaadPlus generator").And.Contain("calibration:");
    }

    [Category("Slow")]
    [Test]
    public async Task Export_then_score_eval_and_info_read_the_onnx_model_like_the_daad_model()
    {
        TestImages.MvtecCategory(dir, "tiny", train: 12, good: 2, defects: new[] { "blob" }, perDefect: 3, size: 32);
        string category = Path.Combine(dir, "tiny");
        string daad = Path.Combine(dir, "tiny.daad"), onnx = Path.Combine(dir, "tiny.onnx");
        var (code, _, stderr) = await Run("train", "--data", category, "--format", "mvtec", "--model", "daad+", "--image-size", "32", "--division", "4,4,1",
            "--memory", "10", "--epochs", "1", "--batch", "4", "--width", "8", "--depth", "3", "--seed", "1", "--out", daad);
        code.Should().Be(0, stderr);

        (code, var stdout, stderr) = await Run("export", "--model", daad, "--out", onnx);
        code.Should().Be(0, stderr);
        stdout.Should().Contain($"written {onnx}");

        // score: the same lines, byte for byte up to the last printed digit.
        string folder = Path.Combine(category, "test");
        var (_, fromDaad, _) = await Run("score", "--model", daad, folder);
        var (scoreCode, fromOnnx, scoreErr) = await Run("score", "--model", onnx, folder);
        scoreCode.Should().Be(0, scoreErr);
        Lines(fromOnnx).Select(Key).Should().Equal(Lines(fromDaad).Select(Key));
        Lines(fromOnnx).Select(Score).Should().Equal(Lines(fromDaad).Select(Score), (a, b) => Math.Abs(a - b) < 2e-3);

        // eval: the same metrics; info: the same description and options.
        var (_, evalDaad, _) = await Run("eval", "--model", daad, "--data", category, "--format", "mvtec", "--report", Path.Combine(dir, "d.json"));
        var (evalCode, evalOnnx, evalErr) = await Run("eval", "--model", onnx, "--data", category, "--format", "mvtec", "--report", Path.Combine(dir, "o.json"));
        evalCode.Should().Be(0, evalErr);
        Lines(evalOnnx).Last().Should().Be(Lines(evalDaad).Last());
        var (_, infoDaad, _) = await Run("info", daad);
        var (infoCode, infoOnnx, _) = await Run("info", onnx);
        infoCode.Should().Be(0);
        infoOnnx.Should().Be(infoDaad);

        // Options that change the baked-in graph are refused on an .onnx with one line.
        (code, stdout, stderr) = await Run("eval", "--model", onnx, "--data", category, "--format", "mvtec", "--report", Path.Combine(dir, "p.json"), "--pooling", "max");
        code.Should().Be(2);
        stderr.Trim().Should().StartWith("error: --pooling, --smoothing, --residual-smoothing, --memory-weight, --head-weight and --flip-averaging change the scoring graph baked into the exported model").And.NotContain("\n");

        static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        static string Key(string line) => line.Split('\t')[0] + "\t" + line.Split('\t')[2];
        static double Score(string line) => double.Parse(line.Split('\t')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Test]
    public async Task The_onnx_scoring_sample_scores_a_folder_with_onnx_runtime_only()
    {
        TestImages.MvtecCategory(dir, "tiny", train: 12, good: 2, defects: new[] { "blob" }, perDefect: 2, size: 32);
        string daad = Path.Combine(dir, "m.daad"), onnx = Path.Combine(dir, "m.onnx");
        var (code, _, stderr) = await Run("train", "--data", Path.Combine(dir, "tiny"), "--format", "mvtec", "--model", "daad", "--image-size", "32", "--division", "4,4,1",
            "--memory", "10", "--epochs", "1", "--batch", "4", "--width", "8", "--depth", "3", "--out", daad);
        code.Should().Be(0, stderr);
        (await Run("export", "--model", daad, "--out", onnx)).Code.Should().Be(0);

        using var output = new StringWriter();
        DivideAssemble.Samples.OnnxScoring.OnnxScoringSample.Run(new[] { onnx, Path.Combine(dir, "tiny", "test") }, output).Should().Be(0, output.ToString());
        output.ToString().Should().Contain("backend ONNX Runtime").And.Contain("of 4 images anomalous");
        DivideAssemble.Samples.OnnxScoring.OnnxScoringSample.Backends.Select(b => b.Name).Should().Equal("ONNX Runtime");
    }

    [Test]
    [Category("Slow")]
    public async Task Soak_reports_resident_memory_and_its_exit_code_follows_the_growth_it_printed()
    {
        var (code, stdout, stderr) = await Run("soak", "--steps", "20", "--images", "60", "--image-size", "32", "--width", "8");
        stderr.Should().BeEmpty();
        stdout.Should().Contain("after warm-up: RSS").And.Contain("training step 20:").And.Contain("images scored 60:");
        var growth = System.Text.RegularExpressions.Regex.Match(stdout, @"RSS after warm-up \d+ MB, after 20 steps and 60 images \d+ MB \(([+-]\d+\.\d) %\)");
        growth.Success.Should().BeTrue(stdout);
        bool flat = double.Parse(growth.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < 5;
        code.Should().Be(flat ? 0 : 1);
        stdout.Should().Contain(flat ? "memory is flat" : "memory grew by more than 5 %");
    }

    [Test]
    [Category("Slow")]
    public void Soak_catches_a_leak()
    {
        // 3 MB kept alive after every step and image of the measured part: 240 MB on a ~300 MB process.
        var kept = new List<byte[]>();
        var options = DaadOptions.Default;
        options.Network.ImageSize = 32;
        options.Network.Channels = 1;
        options.Network.BaseWidth = 8;
        using var output = new StringWriter();
        var figures = DivideAssemble.Cli.Soak.Run(options, null, 20, 60, output, () =>
        {
            var block = new byte[3 << 20];
            Array.Fill(block, (byte)1);
            kept.Add(block);
        });
        figures.GrowthPercent.Should().BeGreaterThan(30);
        figures.IsFlat(5).Should().BeFalse();
        kept.Should().HaveCount(80);
    }

    [Test]
    public async Task Version_prints_the_package_version_and_the_native_stack_on_one_line()
    {
        var (code, stdout, stderr) = await Run("--version");
        code.Should().Be(0);
        stderr.Should().BeEmpty();
        stdout.Trim().Should().MatchRegex(@"^daad 1\.0\.0-rc\.1 \(.*TorchSharp 0\.107\.0, ONNX Runtime [0-9.]+; [a-z]+-[a-z0-9]+, \.NET 10\.[0-9.]+\)$");
        stdout.Trim().Should().NotContain(Environment.NewLine);
    }

    [TestCase(System.Runtime.InteropServices.Architecture.Arm64, true, false, false, "linux-arm64")]
    [TestCase(System.Runtime.InteropServices.Architecture.X64, false, false, true, "osx-x64")]
    [TestCase(System.Runtime.InteropServices.Architecture.Arm64, false, true, false, "win-arm64")]
    public void An_unsupported_platform_gets_one_line_naming_it_and_the_supported_ones(System.Runtime.InteropServices.Architecture architecture, bool linux, bool windows, bool macOS, string rid)
    {
        string? message = DaadTool.UnsupportedPlatform(architecture, linux, windows, macOS);
        message.Should().NotBeNull().And.Contain("this machine is " + rid).And.Contain("linux-x64, win-x64, osx-arm64").And.Contain("DivideAssemble.Onnx");
        message.Should().NotContain("\n");
    }

    [TestCase(System.Runtime.InteropServices.Architecture.X64, true, false, false)]
    [TestCase(System.Runtime.InteropServices.Architecture.X64, false, true, false)]
    [TestCase(System.Runtime.InteropServices.Architecture.Arm64, false, false, true)]
    public void The_three_shipped_platforms_are_supported(System.Runtime.InteropServices.Architecture architecture, bool linux, bool windows, bool macOS) =>
        DaadTool.UnsupportedPlatform(architecture, linux, windows, macOS).Should().BeNull();

    internal static async Task<(int Code, string Stdout, string Stderr)> Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = await DivideAssemble.Cli.DaadTool.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
