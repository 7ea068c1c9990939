using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using DivideAssemble.Onnx;
using DivideAssemble.Samples.ScoringService;
using FluentAssertions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using SkiaSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>Dependency injection and hosting, each test with a real host started and stopped.</summary>
public sealed class HostingTests : TempFolderTest
{
    [Test]
    public async Task Training_options_are_validated_when_the_host_starts()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddDaadOptions(o => o.Network.HeightRatio = 3);
        using var host = builder.Build();
        var start = async () => await host.StartAsync();
        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Failures.Should().Contain(f => f.StartsWith("Network.HeightRatio: 3 does not divide", StringComparison.Ordinal));
    }

    [Test]
    public async Task An_invalid_option_reads_the_same_from_the_builder_dependency_injection_and_a_model_file()
    {
        var fromBuilder = FluentActions.Invoking(() => DaadBuilder.Create().WithMemory(0, temperature: 500).Build())
            .Should().Throw<OptionsValidationException>().Which.Failures.ToList();

        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddDaadOptions(o =>
        {
            o.Network.MemoryItems = 0;
            o.Network.MemoryTemperature = 500;
        });
        using var host = builder.Build();
        var fromHost = (await FluentActions.Awaiting(() => host.StartAsync()).Should().ThrowAsync<OptionsValidationException>()).Which.Failures.ToList();

        // A model file whose (checksummed) header holds the same two values.
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Trained(ModelVariant.Daad, epochs: 1);
        using var stream = new MemoryStream();
        detector.Save(stream);
        var bytes = stream.ToArray();
        int length = BitConverter.ToInt32(bytes, 16);
        string header = System.Text.Encoding.UTF8.GetString(bytes, 20, length);
        string changed = header.Replace("\"MemoryItems\":20,", "\"MemoryItems\":0,", StringComparison.Ordinal).Replace("\"MemoryTemperature\":0.1,", "\"MemoryTemperature\":500,", StringComparison.Ordinal);
        changed.Should().NotBe(header);
        var headerBytes = System.Text.Encoding.UTF8.GetBytes(changed);
        var file = bytes[..16].Concat(BitConverter.GetBytes(headerBytes.Length)).Concat(headerBytes).Concat(bytes[(20 + length)..^32]).ToArray();
        file = file.Concat(SHA256.HashData(file)).ToArray();
        string path = Path.Combine(dir, "bad.daad");
        File.WriteAllBytes(path, file);
        string fromFile = FluentActions.Invoking(() => AnomalyDetector.Load(path)).Should().Throw<InvalidDataException>().Which.Message;

        fromBuilder.Should().HaveCount(2).And.Equal(fromHost);
        fromBuilder.Should().Contain(f => f.StartsWith("Network.MemoryItems:", StringComparison.Ordinal)).And.Contain(f => f.StartsWith("Network.MemoryTemperature:", StringComparison.Ordinal));
        foreach (string failure in fromBuilder)
        {
            fromFile.Should().Contain(failure);
        }
    }

    [Test]
    public async Task A_trained_model_is_loaded_from_the_path_option_when_the_host_starts()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(dir, "model.daad");
        float expected;
        using (var detector = DetectorTests.Trained(ModelVariant.Daad, epochs: 1))
        {
            detector.Save(path);
            expected = (float)detector.Score(Image(3)).Score;
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddDivideAssemble(o => o.ModelPath = path).AddTorchSharp();
        using var host = builder.Build();
        await host.StartAsync();
        var scorer = host.Services.GetRequiredService<IAnomalyScorer>();
        scorer.Should().BeOfType<AnomalyDetector>().Which.IsTrained.Should().BeTrue();
        ((float)scorer.Score(Image(3)).Score).Should().Be(expected);
        scorer.Calibration.Should().NotBeNull();
        await host.StopAsync();
    }

    [Test]
    public async Task With_both_backends_the_files_content_chooses_and_the_scores_agree()
    {
        using var scope = NewDisposeScope();
        string daad = Path.Combine(dir, "model.daad"), onnx = Path.Combine(dir, "model.onnx");
        using (var detector = DetectorTests.Trained(ModelVariant.Daad, epochs: 1))
        {
            detector.Save(daad);
            detector.ExportOnnx(onnx);
        }

        var scores = new List<double>();
        foreach (string path in new[] { daad, onnx })
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Services.AddDivideAssemble(o => o.ModelPath = path).AddTorchSharp().AddOnnxRuntime();
            using var host = builder.Build();
            await host.StartAsync();
            var scorer = host.Services.GetRequiredService<IAnomalyScorer>();
            scorer.GetType().Name.Should().Be(path.EndsWith(".onnx", StringComparison.Ordinal) ? "OnnxAnomalyScorer" : "AnomalyDetector");
            scores.Add(scorer.Score(Image(3)).Score);
            await host.StopAsync();
        }

        scores[1].Should().BeApproximately(scores[0], 1e-3);

        // A renamed file is still read by its content.
        string disguised = Path.Combine(dir, "model.bin");
        File.Copy(onnx, disguised);
        var b = Host.CreateApplicationBuilder();
        b.Services.AddDivideAssemble(o => o.ModelPath = disguised).AddTorchSharp().AddOnnxRuntime();
        using var h = b.Build();
        await h.StartAsync();
        h.Services.GetRequiredService<IAnomalyScorer>().GetType().Name.Should().Be("OnnxAnomalyScorer");
    }

    [Test]
    public async Task A_missing_file_or_a_file_no_registered_backend_reads_stops_the_start_naming_the_file()
    {
        string missing = Path.Combine(dir, "missing.daad");
        var failures = await StartFailures(b => b.Services.AddDivideAssemble(o => o.ModelPath = missing).AddTorchSharp());
        failures.Should().ContainSingle().Which.Should().StartWith("ModelPath: ").And.Contain(missing);

        failures = await StartFailures(b => b.Services.AddDivideAssemble().AddTorchSharp());
        failures.Should().ContainSingle().Which.Should().StartWith("ModelPath: ");

        string text = Path.Combine(dir, "notes.txt");
        File.WriteAllText(text, "not a model");
        failures = await StartFailures(b => b.Services.AddDivideAssemble(o => o.ModelPath = text).AddTorchSharp());
        failures.Should().ContainSingle().Which.Should().Contain(text).And.Contain("neither a DivideAssemble model file nor an ONNX model").And.Contain("TorchSharp");
    }

    [Test]
    public async Task The_scoring_service_sample_scores_uploaded_images()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(dir, "model.daad");
        using (var detector = DetectorTests.Trained(ModelVariant.Daad, epochs: 1))
        {
            detector.Save(path);
        }

        await using var app = ScoringApp.Build(Array.Empty<string>(), b =>
        {
            b.WebHost.UseTestServer();
            b.Configuration["Model:ModelPath"] = path;
        });
        await app.StartAsync();
        using var client = app.GetTestClient();

        using var model = await client.GetFromJsonAsync<JsonDocument>("/model");
        model!.RootElement.GetProperty("imageSize").GetInt32().Should().Be(32);

        string png = TestImages.Write(Path.Combine(dir, "part.png"), 40, 40, SKColorType.Gray8, SKEncodedImageFormat.Png, (x, y) => ((byte)((x * 5) + (y * 3)), 0, 0, 255));
        using var response = await client.PostAsync("/score", new ByteArrayContent(await File.ReadAllBytesAsync(png)));
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var scorer = app.Services.GetRequiredService<IAnomalyScorer>();
        body.RootElement.GetProperty("score").GetDouble().Should().Be(scorer.Score(DivideAssemble.Imaging.ImageDecoder.DecodeFloat(png)).Score);
        body.RootElement.GetProperty("anomalous").ValueKind.Should().BeOneOf(JsonValueKind.True, JsonValueKind.False);

        using var bad = await client.PostAsync("/score", new ByteArrayContent(new byte[] { 1, 2, 3, 4 }));
        bad.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await bad.Content.ReadAsStringAsync()).Should().Contain("not an image");
        await app.StopAsync();
    }

    private static FloatImage Image(int seed)
    {
        using var scope = NewDisposeScope();
        var t = Synthetic.Textures(1, 32, seed, false);
        return new FloatImage(1, 32, 32, t.data<float>().ToArray());
    }

    private static async Task<IReadOnlyList<string>> StartFailures(Action<HostApplicationBuilder> configure)
    {
        var builder = Host.CreateApplicationBuilder();
        configure(builder);
        using var host = builder.Build();
        var failure = await FluentActions.Awaiting(() => host.StartAsync()).Should().ThrowAsync<OptionsValidationException>();
        return failure.Which.Failures.ToList();
    }
}
