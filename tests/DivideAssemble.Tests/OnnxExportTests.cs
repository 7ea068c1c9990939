using System.Security.Cryptography;
using System.Text;
using DivideAssemble.Export;
using DivideAssemble.Graph;
using DivideAssemble.Onnx;
using FluentAssertions;
using NUnit.Framework;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>The exported file's structure, external data, and every way a bad .onnx file is refused before ONNX Runtime sees it.</summary>
public sealed class OnnxExportTests : TempFolderTest
{
    [Test]
    public void The_export_is_opset_17_ir_8_with_a_symbolic_batch_and_the_documented_metadata()
    {
        using var scope = NewDisposeScope();
        using var detector = OnnxParityTests.Train(ModelVariant.DaadPlus, "8,8,1", 3, 32, _ => { });
        string path = Path.Combine(dir, "m.onnx");
        detector.ExportOnnx(path);
        var file = OnnxModelFile.Read(path);

        using (var session = new Microsoft.ML.OnnxRuntime.InferenceSession(path))
        {
            session.InputNames.Should().Equal("images");
            session.InputMetadata["images"].Dimensions.Should().Equal(-1, 3, 32, 32);
            session.InputMetadata["images"].SymbolicDimensions[0].Should().Be("N");
            session.InputMetadata["images"].ElementDataType.Should().Be(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float);
            session.OutputNames.Should().Equal("scores", "R", "L", "maps", "reconstructions");
            session.OutputMetadata["maps"].Dimensions.Should().Equal(-1, 32, 32);
        }

        file.Options.Should().BeEquivalentTo(ModelMetadata.Stored(detector.Options), "exports store the options with their defaults resolved");
        file.Calibration.Should().Be(detector.Calibration);
        file.GeneratorParameters.Should().Be(detector.GeneratorParameterCount);
        file.DiscriminatorParameters.Should().Be(detector.DiscriminatorParameterCount);
        file.Metadata.Keys.Should().Contain(new[] { "divideassemble.options", "divideassemble.calibration", "divideassemble.image_threshold", "divideassemble.pixel_threshold", "divideassemble.preprocessing", "divideassemble.library_version", "divideassemble.sha256" });
        file.Metadata["divideassemble.preprocessing"].Should().Contain("bilinear-antialias-half-pixel").And.Contain("0.299");
        double.Parse(file.Metadata["divideassemble.image_threshold"], System.Globalization.CultureInfo.InvariantCulture).Should().Be(detector.Calibration!.Threshold);
        file.ExternalData.Should().BeNull();
    }

    [Test]
    public void Eight_threads_score_one_onnx_model_concurrently_and_get_the_sequential_results()
    {
        using var scope = NewDisposeScope();
        using var detector = OnnxParityTests.Train(ModelVariant.DaadPlus, "8,8,1", 1, 32, _ => { });
        string path = Path.Combine(dir, "m.onnx");
        detector.ExportOnnx(path);
        using var onnx = OnnxAnomalyScorer.Load(path);
        var batches = Enumerable.Range(0, 8)
            .Select(i => Synthetic.Textures(3, 32, 100 + i, i % 2 == 1).contiguous().data<float>().ToArray())
            .Select(floats => Enumerable.Range(0, 3).Select(k => new FloatImage(1, 32, 32, floats.AsSpan(k * 1024, 1024).ToArray())).ToList())
            .ToArray();
        var sequential = batches.Select(b => onnx.Score(b).Select(r => (r.Score, (double)r.AnomalyMap.Sum())).ToArray()).ToArray();
        var parallel = new (double, double)[8][];
        Concurrently.Run(8, i =>
        {
            for (int repeat = 0; repeat < 3; repeat++)
            {
                parallel[i] = onnx.Score(batches[i]).Select(r => (r.Score, (double)r.AnomalyMap.Sum())).ToArray();
                if (repeat == 1 && i == 0)
                {
                    onnx.UseCalibration(onnx.Calibration!); // swapping the calibration mid-flight is safe
                }
            }
        });
        for (int i = 0; i < 8; i++)
        {
            parallel[i].Should().Equal(sequential[i], $"batch {i}");
        }
    }

    [Test]
    public void Large_weights_go_to_an_external_data_file_that_loads_and_is_checked()
    {
        using var scope = NewDisposeScope();
        using var detector = OnnxParityTests.Train(ModelVariant.Daad, "4,4,1", 1, 32, _ => { });
        string path = Path.Combine(dir, "big.onnx");
        var files = detector.ExportOnnx(path, externalThreshold: 1000);
        files.Should().HaveCount(2);
        files[1].Should().MatchRegex(@"big\.onnx\.[0-9a-f]{16}\.data$");
        new FileInfo(files[0]).Length.Should().BeLessThan(new FileInfo(files[1]).Length, "the weights are in the data file");

        var probe = Synthetic.Textures(2, 32, 4, true);
        using (var onnx = OnnxAnomalyScorer.Load(path))
        {
            var floats = probe.data<float>().ToArray();
            onnx.Score(new[] { new FloatImage(1, 32, 32, floats[..1024]), new FloatImage(1, 32, 32, floats[1024..]) })
                .Select(r => r.Score).Should().Equal(detector.Score(probe).Select(r => r.Score), (a, b) => Math.Abs(a - b) < 1e-3);
        }

        // Exporting again leaves one data file; a damaged or missing data file is refused by name.
        detector.ExportOnnx(path, externalThreshold: 1000);
        Directory.GetFiles(dir, "big.onnx.*.data").Should().ContainSingle();
        var data = File.ReadAllBytes(files[1]);
        data[data.Length / 2] ^= 0x40;
        File.WriteAllBytes(files[1], data);
        FluentActions.Invoking(() => OnnxAnomalyScorer.Load(path)).Should().Throw<InvalidDataException>().WithMessage("*big.onnx* fails its content hash*external data*");
        File.Delete(files[1]);
        FluentActions.Invoking(() => OnnxAnomalyScorer.Load(path)).Should().Throw<InvalidDataException>().WithMessage($"*big.onnx* keeps its weights in '*{Path.GetFileName(files[1])}', which does not exist*");
    }

    [Test]
    public void Untrained_and_uncalibrated_detectors_are_not_exported()
    {
        using var scope = NewDisposeScope();
        using var untrained = DetectorTests.Builder(ModelVariant.Daad, 1).Build();
        FluentActions.Invoking(() => untrained.ExportOnnx(Path.Combine(dir, "u.onnx"))).Should().Throw<InvalidOperationException>().WithMessage("Only a trained detector can be exported*");
        untrained.Calibrate(new TensorImageSource(Synthetic.Textures(4, 32, 1, false)));
        FluentActions.Invoking(() => untrained.ExportOnnx(Path.Combine(dir, "u.onnx"))).Should().Throw<InvalidOperationException>().WithMessage("Only a trained detector*");
        Directory.GetFiles(dir).Should().BeEmpty("nothing is written when the export is refused");
    }

    [Test]
    public void Bad_onnx_files_are_refused_naming_the_file_and_the_field()
    {
        using var scope = NewDisposeScope();
        using var detector = OnnxParityTests.Train(ModelVariant.Daad, "4,4,1", 1, 32, _ => { });
        string good = Path.Combine(dir, "good.onnx");
        detector.ExportOnnx(good);
        byte[] bytes = File.ReadAllBytes(good);

        Expect("empty.onnx", Array.Empty<byte>(), "*empty.onnx* is empty*");
        Expect("truncated.onnx", bytes[..(bytes.Length / 2)], "*truncated.onnx* is not an intact ONNX model: ModelProto declares * bytes for graph but only * remain*");
        Expect("flipped.onnx", Flip(bytes, bytes.Length / 3), "*flipped.onnx*");
        Expect("text.onnx", Encoding.UTF8.GetBytes("definitely not protobuf"), "*text.onnx*");

        // Another opset, another IR version, or no DivideAssemble metadata (a model from another exporter).
        Expect("opset13.onnx", Rewrite(bytes, model => model.Opset = 13), "*opset13.onnx* imports ai.onnx 13 (ModelProto.opset_import); this library reads models of opset 17*");
        Expect("ir7.onnx", Rewrite(bytes, model => model.Ir = 7), "*ir7.onnx* has IR version 7 (ModelProto.ir_version)*");
        Expect("foreign.onnx", Rewrite(bytes, model => model.Metadata.Clear()), "*foreign.onnx* has no 'divideassemble.options' metadata*not exported by DivideAssemble*");

        // Metadata that disagrees with the graph: the options say 64 px, the graph takes 32.
        Expect("size.onnx", Rewrite(bytes, model => model.Metadata["divideassemble.options"] = model.Metadata["divideassemble.options"].Replace("\"ImageSize\":32", "\"ImageSize\":64", StringComparison.Ordinal)),
            "*size.onnx* declares its input 'images' as float32 [N, 1, 32, 32]; the model's options (metadata 'divideassemble.options') make it float32 [N, 1, 64, 64]*");
        Expect("channels.onnx", Rewrite(bytes, model => model.Metadata["divideassemble.options"] = model.Metadata["divideassemble.options"].Replace("\"Channels\":1", "\"Channels\":3", StringComparison.Ordinal)),
            "*channels.onnx* declares its input 'images'*[N, 3, 32, 32]*");
        Expect("options.onnx", Rewrite(bytes, model => model.Metadata["divideassemble.options"] = "{\"Network\":"), "*options.onnx* (divideassemble.options) holds options that are not valid JSON*");

        void Expect(string name, byte[] content, string message)
        {
            string path = Path.Combine(dir, name);
            File.WriteAllBytes(path, content);
            FluentActions.Invoking(() => OnnxAnomalyScorer.Load(path)).Should().Throw<InvalidDataException>().WithMessage(message);
        }
    }

    [Test]
    [Category("Slow")]
    public void Fuzzed_onnx_bytes_always_give_a_managed_error_before_onnx_runtime()
    {
        using var scope = NewDisposeScope();
        using var detector = OnnxParityTests.Train(ModelVariant.DaadPlus, "4,4,1", 1, 32, _ => { });
        string good = Path.Combine(dir, "good.onnx");
        detector.ExportOnnx(good);
        byte[] model = File.ReadAllBytes(good);
        var random = new Random(3);
        var messages = new HashSet<string>(StringComparer.Ordinal);
        int accepted = 0;
        for (int i = 0; i < 2000; i++)
        {
            byte[] bytes = i % 50 == 0 ? RandomBytes(random, random.Next(0, 3000)) : Fuzz(model, random);
            if (i % 4 == 1)
            {
                // Re-signed: the content hash matches the mutated graph, so the checks behind it are fuzzed too.
                bytes = Resign(bytes) ?? bytes;
            }

            try
            {
                OnnxModelFile.Read(bytes, "The fuzzed model", dir);
                accepted++;
            }
            catch (InvalidDataException ex)
            {
                ex.Message.Should().StartWith("The fuzzed model ");
                messages.Add(ex.Message.Length > 60 ? ex.Message[..60] : ex.Message);
            }
        }

        messages.Should().Contain(m => m.Contains("content hash", StringComparison.Ordinal));
        messages.Count.Should().BeGreaterThan(8, "the mutations reach the structure, metadata and hash checks");
        TestContext.Out.WriteLine($"{accepted} of 2000 fuzzed files passed every check (re-signed mutations of weights, names or text); {messages.Count} distinct errors: {string.Join(" | ", messages.Take(20))}");
    }

    private static byte[]? Resign(byte[] bytes)
    {
        try
        {
            var model = TopLevel.Parse(bytes);
            using var content = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            content.AppendData(SHA256.HashData(model.Graph));
            model.Metadata["divideassemble.sha256"] = Convert.ToHexString(content.GetHashAndReset()).ToLowerInvariant();
            return model.Encode();
        }
        catch (ProtoFormatException)
        {
            return null;
        }
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = bytes.ToArray();
        copy[at] ^= 0x21;
        return copy;
    }

    /// <summary>Re-encodes the model's top-level fields with changes (the graph's bytes stay as they are, so its hash still holds).</summary>
    private static byte[] Rewrite(byte[] bytes, Action<TopLevel> change)
    {
        var model = TopLevel.Parse(bytes);
        change(model);
        return model.Encode();
    }

    private static byte[] Fuzz(byte[] seed, Random random)
    {
        var bytes = seed.ToList();
        int edits = 1 + random.Next(6);
        for (int e = 0; e < edits && bytes.Count > 0; e++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 1: bytes[at] = (byte)random.Next(256); break;
                case 2: bytes.RemoveRange(at, bytes.Count - at); break;
                case 3: bytes.Insert(at, (byte)random.Next(256)); break;
                default: bytes.RemoveAt(at); break;
            }
        }

        return bytes.ToArray();
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>The ModelProto fields the tests change: IR version, the default opset, metadata; the graph as raw bytes.</summary>
    private sealed class TopLevel
    {
        public long Ir { get; set; }

        public long Opset { get; set; }

        public byte[] Graph { get; set; } = Array.Empty<byte>();

        public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

        public static TopLevel Parse(byte[] bytes)
        {
            var model = new TopLevel();
            var reader = new ProtoReader(bytes, "test");
            while (!reader.AtEnd)
            {
                var (field, wire) = reader.ReadTag();
                switch (field)
                {
                    case 1: model.Ir = (long)reader.ReadVarint("ir"); break;
                    case 7: model.Graph = reader.ReadBytes("graph").ToArray(); break;
                    case 8:
                        var opset = new ProtoReader(reader.ReadBytes("opset"), "opset");
                        while (!opset.AtEnd)
                        {
                            var (f, w) = opset.ReadTag();
                            if (f == 2)
                            {
                                model.Opset = (long)opset.ReadVarint("v");
                            }
                            else
                            {
                                opset.Skip(f, w);
                            }
                        }

                        break;
                    case 14:
                        var entry = new ProtoReader(reader.ReadBytes("m"), "m");
                        string key = string.Empty, value = string.Empty;
                        while (!entry.AtEnd)
                        {
                            var (f, _) = entry.ReadTag();
                            if (f == 1)
                            {
                                key = entry.ReadString("k");
                            }
                            else
                            {
                                value = entry.ReadString("v");
                            }
                        }

                        model.Metadata[key] = value;
                        break;
                    default: reader.Skip(field, wire); break;
                }
            }

            return model;
        }

        public byte[] Encode()
        {
            var m = new ProtoMessage().Varint(1, Ir).Bytes(7, Graph).Message(8, new ProtoMessage().String(1, string.Empty).Varint(2, Opset));
            foreach (var (k, v) in Metadata)
            {
                m.Message(14, new ProtoMessage().String(1, k).String(2, v));
            }

            return m.ToArray();
        }
    }
}
