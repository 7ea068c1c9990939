using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using DivideAssemble.Onnx;
using FluentAssertions;
using NUnit.Framework;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>
/// Outputs recorded from fixed models and seeded runs, so that a refactoring can prove it moved no
/// behaviour: the ONNX export of committed model files (graph bytes and metadata), the <c>daad eval</c>
/// JSON of those models on generated images, and the report of a seeded model selection on tiny data.
/// Set <c>DAAD_UPDATE_GOLDEN=1</c> to record them again (only when a change of behaviour is intended;
/// say so in the commit).
/// </summary>
public sealed class GoldenTests : TempFolderTest
{
    private const double Tolerance = 1e-6;

    private static bool Update => Environment.GetEnvironmentVariable("DAAD_UPDATE_GOLDEN") == "1";

    private static string Folder => Update
        ? Path.Combine(ReadmeExampleTests.RepositoryRoot(), "tests", "DivideAssemble.Tests", "Golden")
        : Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden");

    [TestCase("daad-grey32", null)]
    [TestCase("daad-grey32", "Mean")]
    [TestCase("daad-grey32", "Max")]
    [TestCase("daadplus-rgb32", null)]
    public void The_onnx_export_of_a_fixed_model_is_unchanged(string model, string? pooling)
    {
        using var scope = NewDisposeScope();
        using var detector = AnomalyDetector.Load(Fixture(model));
        if (pooling is not null)
        {
            var scoring = detector.Options.Scoring;
            scoring.Pooling = new ImageScorePooling(pooling);
            detector.ChangeScoring(scoring, CalibrationImages(detector.Channels));
        }

        string path = Path.Combine(dir, "m.onnx");
        detector.ExportOnnx(path);
        var file = OnnxModelFile.Read(path);
        var (graphHash, scalars) = GraphHash(File.ReadAllBytes(path));
        var actual = new JsonObject
        {
            ["graphSha256"] = graphHash,
            ["graphScalars"] = scalars,
            ["metadata"] = new JsonObject(file.Metadata
                .Where(kv => kv.Key is not (ModelMetadata.LibraryVersionKey or FileHashKey))
                .OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => KeyValuePair.Create(kv.Key, MetadataValue(kv.Key, kv.Value)))),
        };

        // Strings and the graph hash bit for bit; numbers to 1e-4, for a calibration recomputed here (a changed
        // pooling) averages float32 maps in an order that depends on the CPU's vector width, and its threshold is
        // a z-score over a small spread. The whole file's own hash is left out: it covers those numbers too.
        Compare($"export-{model}{(pooling is null ? string.Empty : "-" + pooling.ToLowerInvariant())}.json", actual, tolerance: 1e-4);
    }

    [TestCase("daad-grey32")]
    [TestCase("daadplus-rgb32")]
    public async Task The_eval_json_of_a_fixed_model_is_unchanged(string model)
    {
        TestImages.MvtecCategory(dir, "golden", train: 10, good: 4, defects: new[] { "blob" }, perDefect: 4, size: 32);
        string report = Path.Combine(dir, "report.json");
        var (code, _, stderr) = await CliTests.Run("eval", "--model", Fixture(model), "--data", dir, "--format", "mvtec", "--category", "golden", "--report", report);
        code.Should().Be(0, stderr);
        var json = JsonNode.Parse(File.ReadAllText(report))!.AsObject();
        foreach (string volatileField in new[] { "scoringSeconds", "imagesPerSecond", "createdUtc", "dataset" })
        {
            json.Remove(volatileField);
        }

        foreach (var image in json["images"]!.AsArray())
        {
            image!.AsObject().Remove("path");
        }

        Compare($"eval-{model}.json", json);
    }

    [Test]
    public void A_seeded_selection_on_tiny_data_gives_the_recorded_report()
    {
        using var scope = NewDisposeScope();
        var options = DetectorTests.Builder(ModelVariant.Daad, epochs: 1).Configure(o => o.Network.MemoryItems = 10).Build().Options;
        var selection = new SelectionOptions { Budget = TimeSpan.FromHours(1), Divisions = new List<string> { "2,2,1", "4,4,1" }, Temperatures = new List<double> { 0.05 } };
        var result = ModelSelection.Select(options, new TensorImageSource(Synthetic.Textures(20, 32, 7, false)), selection);
        result.Detector.Dispose();
        var report = JsonSerializer.SerializeToNode(result.Report, ModelMetadata.Json)!.AsObject();
        report.Remove("SelectionSeconds");
        report.Remove("BudgetSeconds");
        foreach (var row in report["Candidates"]!.AsArray().Append(report["Winner"]).Append(report["Configured"]))
        {
            row?.AsObject().Remove("TrainingSeconds");
        }

        Compare("selection.json", report);
    }

    /// <summary>The committed model file; recorded (trained, seeded) when updating and missing.</summary>
    private static string Fixture(string name)
    {
        string path = Path.Combine(Folder, name + ".daad");
        if (Update && !File.Exists(path))
        {
            Directory.CreateDirectory(Folder);
            bool plus = name.StartsWith("daadplus", StringComparison.Ordinal);
            int channels = plus ? 3 : 1;
            var builder = DetectorTests.Builder(plus ? ModelVariant.DaadPlus : ModelVariant.Daad, epochs: 1)
                .WithChannels(channels)
                .WithMemory(10)
                .WithSeed(plus ? 6 : 5)
                .Configure(o =>
                {
                    if (plus)
                    {
                        o.Scoring.Residual = ResidualKind.MultiScale;
                        o.Scoring.TopFraction = 0.05;
                        o.Network.DiscriminatorBaseWidth = 8;
                        o.Network.DiscriminatorMaxWidth = 16;
                        o.Network.FeatureDimension = 16;
                    }
                    else
                    {
                        o.Network.HeightRatio = null;
                        o.Network.WidthRatio = null;
                    }
                });
            using var detector = builder.Build();
            using var images = Synthetic.Textures(24, 32, plus ? 2 : 1, false, channels);
            detector.Fit(new TensorImageSource(images));
            detector.Save(path);
        }

        File.Exists(path).Should().BeTrue($"the fixture {path} is committed");
        return path;
    }

    private static TensorImageSource CalibrationImages(int channels) => new(Synthetic.Textures(8, 32, 9, false, channels));

    private const string FileHashKey = "divideassemble.sha256";

    /// <summary>A metadata value as the golden file holds it: JSON documents and numbers parsed (so their numbers compare with a tolerance), other strings as they are.</summary>
    private static JsonNode? MetadataValue(string key, string value) =>
        value.StartsWith('{') ? JsonNode.Parse(value)
        : key.EndsWith("_threshold", StringComparison.Ordinal) ? JsonValue.Create(double.Parse(value, CultureInfo.InvariantCulture))
        : JsonValue.Create(value);

    /// <summary>
    /// The SHA-256 of the ModelProto's graph field (field 7) — the exported network and scoring — without its
    /// double scalars, which are returned by name: those are the calibration constants and score weights, and a
    /// calibration the test recomputes (a changed pooling) reduces float32 maps in an order that depends on the
    /// CPU's vector width, so they are compared with a tolerance instead of bit for bit.
    /// </summary>
    private static (string Hash, JsonObject Scalars) GraphHash(byte[] model)
    {
        var reader = new ProtoReader(model, "ModelProto");
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            if (field == 7)
            {
                return HashGraph(reader.ReadBytes("graph"));
            }

            reader.Skip(field, wire);
        }

        throw new InvalidDataException("no graph");
    }

    private static (string Hash, JsonObject Scalars) HashGraph(ReadOnlySpan<byte> graph)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var scalars = new JsonObject();
        var reader = new ProtoReader(graph, "GraphProto");
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            wire.Should().Be(2, "every GraphProto field is length-delimited");
            var bytes = reader.ReadBytes("graph field");
            if (field == 5 && DoubleScalar(bytes) is var (name, value))
            {
                scalars[name] = value;
                continue;
            }

            hash.AppendData(BitConverter.GetBytes(field));
            hash.AppendData(BitConverter.GetBytes(bytes.Length));
            hash.AppendData(bytes);
        }

        return (Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant(), scalars);
    }

    /// <summary>The name and value of a TensorProto that is a 0-d double, else null.</summary>
    private static (string Name, double Value)? DoubleScalar(ReadOnlySpan<byte> tensor)
    {
        var reader = new ProtoReader(tensor, "TensorProto");
        bool hasDims = false;
        long type = 0;
        string? name = null;
        byte[]? raw = null;
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1: hasDims = true; reader.Skip(field, wire); break;
                case 2: type = (long)reader.ReadVarint("data_type"); break;
                case 8: name = System.Text.Encoding.UTF8.GetString(reader.ReadBytes("name")); break;
                case 9: raw = reader.ReadBytes("raw_data").ToArray(); break;
                default: reader.Skip(field, wire); break;
            }
        }

        return !hasDims && type == 11 && name is not null && raw is { Length: 8 } ? (name, BitConverter.ToDouble(raw)) : null;
    }

    /// <summary>Compares with the recorded golden file: strings exactly, numbers to <paramref name="tolerance"/> (relative above 1).</summary>
    private static void Compare(string name, JsonNode actual, double tolerance = Tolerance)
    {
        string path = Path.Combine(Folder, name);
        if (Update)
        {
            Directory.CreateDirectory(Folder);
            File.WriteAllText(path, actual.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + Environment.NewLine);
            return;
        }

        File.Exists(path).Should().BeTrue($"the golden output {path} is committed");
        var expected = JsonNode.Parse(File.ReadAllText(path))!;
        var differences = new List<string>();
        Diff(expected, actual, "$", tolerance, differences);
        differences.Should().BeEmpty($"{name} holds the recorded output");
    }

    private static void Diff(JsonNode? expected, JsonNode? actual, string at, double tolerance, List<string> differences)
    {
        switch (expected)
        {
            case JsonObject e when actual is JsonObject a:
                foreach (string key in e.Select(kv => kv.Key).Union(a.Select(kv => kv.Key)))
                {
                    Diff(e[key], a[key], $"{at}.{key}", tolerance, differences);
                }

                return;
            case JsonArray e when actual is JsonArray a:
                if (e.Count != a.Count)
                {
                    differences.Add($"{at}: {e.Count} items, now {a.Count}");
                    return;
                }

                for (int i = 0; i < e.Count; i++)
                {
                    Diff(e[i], a[i], $"{at}[{i}]", tolerance, differences);
                }

                return;
            case JsonValue e when actual is JsonValue a && e.GetValueKind() == JsonValueKind.Number && a.GetValueKind() == JsonValueKind.Number:
                double x = e.GetValue<double>(), y = a.GetValue<double>();
                if (Math.Abs(x - y) > tolerance * Math.Max(1, Math.Abs(x)))
                {
                    differences.Add(string.Create(CultureInfo.InvariantCulture, $"{at}: {x:R}, now {y:R}"));
                }

                return;
            default:
                string before = expected?.ToJsonString() ?? "null", after = actual?.ToJsonString() ?? "null";
                if (before != after)
                {
                    differences.Add($"{at}: {Shorten(before)}, now {Shorten(after)}");
                }

                return;
        }
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
