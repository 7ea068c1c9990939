using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using DivideAssemble.Graph;
using DivideAssemble.Scoring;
using TorchSharp;
using static TorchSharp.torch;
using A = DivideAssemble.Graph.OnnxGraph.Attribute;

namespace DivideAssemble.Export;

/// <summary>
/// Writes a trained detector as one ONNX model (opset 17, IR version 8): the generator with its block
/// memories, for DAAD+ the discriminator's feature path, the anomaly map (residual low-pass, squaring,
/// smoothing) and the pooled, calibrated score — everything <see cref="AnomalyScorer"/> computes, so a
/// runtime without libtorch scores alike. Batch norm runs in evaluation mode (its running statistics
/// become a BatchNormalization node); the convolutions' 16-channel padding (a training-only guard against
/// oneDNN, docs/platforms.md) is cut away.
/// </summary>
internal sealed class OnnxExporter
{
    /// <summary>Above this many bytes of weights the tensors go to an external data file (protobuf caps a file at 2 GiB).</summary>
    public const long DefaultExternalThreshold = 1L << 30;

    private const float BatchNormEpsilon = 1e-5f;
    private const float NormEpsilon = 1e-12f;
    private readonly OnnxGraph graph = new();
    private readonly DaadOptions options;
    private readonly Dictionary<string, Tensor> generatorState;
    private readonly Dictionary<string, Tensor>? discriminatorState;
    private readonly IReadOnlyList<ScalePlan> scales;
    private readonly double memoryWeight;
    private string? memoryDistance;

    private OnnxExporter(DaadGenerator generator, DcganDiscriminator? discriminator, DaadOptions options)
    {
        this.options = options;
        generatorState = generator.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        discriminatorState = discriminator?.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        scales = generator.Scales;
        memoryWeight = options.EffectiveMemoryWeight();
    }

    /// <summary>
    /// Exports to <paramref name="path"/>; returns the paths written (the model, and its external data
    /// file when the weights exceed <paramref name="externalThreshold"/> bytes). The data file, named after
    /// a digest of its content, is written first; the model, which names it, is renamed into place last,
    /// so readers see the old export or the new one, never a mix; data files of earlier exports of the same
    /// path are removed afterwards.
    /// </summary>
    public static IReadOnlyList<string> Export(
        string path, DaadGenerator generator, DcganDiscriminator? discriminator, DaadOptions options, ScoreCalibration calibration,
        long generatorParameters, long discriminatorParameters, long externalThreshold = DefaultExternalThreshold, SelectionReport? selection = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var exporter = new OnnxExporter(generator, discriminator, options);
        exporter.Build(calibration);

        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        string modelName = Path.GetFileName(full);
        using var content = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        string? dataName = null;
        ProtoMessage graphMessage;
        if (exporter.graph.InitializerBytes > externalThreshold)
        {
            string temp = full + $".tmp-{Guid.NewGuid():N}";
            try
            {
                byte[] digest;
                using (var data = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite))
                {
                    exporter.graph.WriteExternalData(data);
                    data.Flush(flushToDisk: true);
                    data.Position = 0;
                    digest = SHA256.HashData(data);
                }

                dataName = $"{modelName}.{Convert.ToHexString(digest)[..16].ToLowerInvariant()}.data";
                graphMessage = exporter.Graph(dataName);
                Hash(content, graphMessage);
                using (var data = File.OpenRead(temp))
                {
                    content.AppendData(ReadAll(data));
                }

                File.Move(temp, Path.Combine(folder, dataName), overwrite: true);
            }
            finally
            {
                File.Delete(temp);
            }
        }
        else
        {
            graphMessage = exporter.Graph(null);
            Hash(content, graphMessage);
        }

        var model = exporter.Model(graphMessage, calibration, generatorParameters, discriminatorParameters, Convert.ToHexString(content.GetHashAndReset()).ToLowerInvariant(), selection);
        if (model.Size >= int.MaxValue)
        {
            throw new InvalidOperationException($"The ONNX model would be {model.Size:N0} bytes, above protobuf's 2 GiB limit, even with its weights in external data.");
        }

        AtomicFile.Write(full, model.WriteTo);
        foreach (string stale in Directory.EnumerateFiles(folder, modelName + ".*.data"))
        {
            if (!string.Equals(Path.GetFileName(stale), dataName, StringComparison.Ordinal))
            {
                File.Delete(stale);
            }
        }

        return dataName is null ? new[] { full } : new[] { full, Path.Combine(folder, dataName) };
    }

    private static void Hash(IncrementalHash hash, ProtoMessage message)
    {
        using var hashing = new Persistence.HashingStream(Stream.Null);
        message.WriteTo(hashing);
        hash.AppendData(hashing.Hash());
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            hash.AppendData(buffer, 0, n);
        }

        return hash.GetHashAndReset();
    }

    private ProtoMessage Graph(string? dataName)
    {
        var net = options.Network;
        return graph.Graph($"divideassemble_{net.Variant.ToString().ToLowerInvariant()}", DocString, dataName);
    }

    private string DocString
    {
        get
        {
            var net = options.Network;
            return $"DivideAssemble {net.Variant}, {net.Channels}×{net.ImageSize}×{net.ImageSize}. Input 'images' [N, C, S, S] in [-1, 1] (preprocessing in metadata). Outputs: scores (calibrated A(x)), R, {(net.HasDiscriminator ? "L, " : string.Empty)}{(memoryWeight > 0 ? "M, " : string.Empty)}maps [N, S, S], reconstructions.";
        }
    }

    private ProtoMessage Model(ProtoMessage graphMessage, ScoreCalibration calibration, long generatorParameters, long discriminatorParameters, string contentHash, SelectionReport? selection)
    {
        var net = options.Network;
        var metadata = new List<KeyValuePair<string, string>>
        {
            new(ModelMetadata.SchemaKey, ModelMetadata.SchemaVersion),
            new(ModelMetadata.LibraryVersionKey, LibraryVersion),
            new(ModelMetadata.OptionsKey, ModelMetadata.OptionsToJson(options)),
            new(ModelMetadata.CalibrationKey, ModelMetadata.CalibrationToJson(calibration)),
            new(ModelMetadata.ImageThresholdKey, (options.Scoring.Threshold ?? calibration.Threshold).ToString("R", CultureInfo.InvariantCulture)),
            new(ModelMetadata.PixelThresholdKey, calibration.PixelThreshold.ToString("R", CultureInfo.InvariantCulture)),
            new(ModelMetadata.PreprocessingKey, JsonSerializer.Serialize(PreprocessingContract.For(net.Channels, net.ImageSize), ModelMetadata.Json)),
            new(ModelMetadata.ParametersKey, string.Create(CultureInfo.InvariantCulture, $"{generatorParameters},{discriminatorParameters}")),
            new(ModelMetadata.ContentHashKey, contentHash),
        };
        if (selection is not null)
        {
            metadata.Add(new(ModelMetadata.SelectionKey, JsonSerializer.Serialize(selection, ModelMetadata.Json)));
        }
        return OnnxGraph.Model(graphMessage, DocString, metadata, LibraryVersion);
    }

    private static string LibraryVersion => typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0";

    private void Build(ScoreCalibration calibration)
    {
        var net = options.Network;
        int c = net.Channels, s = net.ImageSize;
        graph.Input(ModelMetadata.InputName, OnnxGraph.Float, "N", c, s, s);
        string x = ModelMetadata.InputName;
        Generator(x);
        string recon = ModelMetadata.ReconstructionsOutput;
        Score(x, recon, calibration);

        graph.Output(ModelMetadata.ScoresOutput, OnnxGraph.Float, "N");
        graph.Output(ModelMetadata.ReconstructionErrorOutput, OnnxGraph.Float, "N");
        if (discriminatorState is not null)
        {
            graph.Output(ModelMetadata.AlignmentErrorOutput, OnnxGraph.Float, "N");
        }

        if (memoryWeight > 0)
        {
            graph.Output(ModelMetadata.MemoryDistanceOutput, OnnxGraph.Float, "N");
        }

        graph.Output(ModelMetadata.MapsOutput, OnnxGraph.Float, "N", s, s);
        graph.Output(ModelMetadata.ReconstructionsOutput, OnnxGraph.Float, "N", c, s, s);
    }

    /// <summary>The generator: encoder, memory-read skips, decoder, into the output <c>reconstructions</c>.</summary>
    private void Generator(string x)
    {
        var net = options.Network;
        var features = new List<string>();
        string h = x;
        for (int i = 0; i < net.Depth; i++)
        {
            h = Conv($"encoder.{i}.conv.conv", h, net.StageWidth(i), kernel: 4, stride: 2, pad: 1, transposed: false, bias: false);
            h = BatchNorm($"encoder.{i}.bn", h);
            h = graph.Node("LeakyRelu", new[] { h }, A.FloatValue("alpha", 0.2f));
            features.Add(h);
        }

        // Decoder over the (memory-read) skips.
        h = Skip(net.Depth, features[^1]);
        for (int k = 0; k < net.Depth; k++)
        {
            int j = net.Depth - 1 - k;
            if (k > 0 && net.HasSkips)
            {
                h = graph.Node("Concat", new[] { h, Skip(j + 1, features[j]) }, A.Int("axis", 1));
            }

            int width = j == 0 ? net.StageWidth(0) : net.StageWidth(j - 1);
            h = Conv($"decoder.{k}.conv.conv", h, width, kernel: 4, stride: 2, pad: 1, transposed: true, bias: false);
            h = BatchNorm($"decoder.{k}.bn", h);
            h = graph.Node("Relu", new[] { h });
        }

        h = Conv("output.conv.conv", h, net.Channels, kernel: 3, stride: 1, pad: 1, transposed: false, bias: true);
        graph.NodeTo("Tanh", new[] { h }, new[] { ModelMetadata.ReconstructionsOutput });
    }

    /// <summary>The anomaly map, R(x), L(x), M(x) and the calibrated score, as <see cref="AnomalyScorer"/> computes them.</summary>
    private void Score(string x, string recon, ScoreCalibration calibration)
    {
        var scoring = options.Scoring;
        int c = options.Network.Channels, s = options.Network.ImageSize;
        var methods = ScoringMethods.Current;
        var residualMethod = methods.Residual(scoring.Residual);
        string residual = graph.Node("Sub", new[] { x, recon });
        string raw = residualMethod.Map(graph, residual, scoring, c, s, residualMethod.NormalisesScales ? calibration.ResidualNormalisers : null);
        string map = AnomalyMapGraph.Smooth(graph, raw, scoring.MapSigma(s), 0, s);
        graph.NodeTo("Identity", new[] { map }, new[] { ModelMetadata.MapsOutput });
        string r = methods.Pooling(scoring.Pooling).Pool(graph, raw, map, s, scoring);
        graph.NodeTo("Identity", new[] { r }, new[] { ModelMetadata.ReconstructionErrorOutput });

        // L(x) through the discriminator's features (DAAD+), then eq. 7 in double precision.
        string score = Standardise(ModelMetadata.ReconstructionErrorOutput, calibration.ReconstructionMean, calibration.ReconstructionStd);
        if (discriminatorState is not null)
        {
            string diff = graph.Node("Sub", new[] { Features(x), Features(recon) });
            string l = graph.Reduce("ReduceMean", graph.Node("Mul", new[] { diff, diff }), 1);
            graph.NodeTo("Identity", new[] { l }, new[] { ModelMetadata.AlignmentErrorOutput });
            string lz = Standardise(ModelMetadata.AlignmentErrorOutput, calibration.AlignmentMean, calibration.AlignmentStd);
            score = Mix(score, scoring.Gamma, "gamma", lz, 1 - scoring.Gamma, "one_minus_gamma");
        }

        // M(x), the memory distance, mixed in with weight β as ScoreCalibration.Combine does.
        if (memoryWeight > 0)
        {
            graph.NodeTo("Identity", new[] { memoryDistance ?? throw new InvalidOperationException("The memory distance was not built.") }, new[] { ModelMetadata.MemoryDistanceOutput });
            string mz = Standardise(ModelMetadata.MemoryDistanceOutput, calibration.MemoryMean, calibration.MemoryStd);
            score = Mix(score, 1 - memoryWeight, "one_minus_beta", mz, memoryWeight, "beta");
        }

        graph.NodeTo("Cast", new[] { score }, new[] { ModelMetadata.ScoresOutput }, A.Int("to", OnnxGraph.Float));
    }

    /// <summary><c>wa·a + wb·b</c> in double precision, as <see cref="ScoreCalibration"/> sums the terms.</summary>
    private string Mix(string a, double wa, string aName, string b, double wb, string bName)
    {
        string first = graph.Node("Mul", new[] { a, graph.DoubleScalar(aName, wa) });
        string second = graph.Node("Mul", new[] { b, graph.DoubleScalar(bName, wb) });
        return graph.Node("Add", new[] { first, second });
    }

    /// <summary>(v − μ)/σ in double precision, as <see cref="ScoreCalibration.Combine(double, double?, double)"/> computes it.</summary>
    private string Standardise(string value, double mean, double std)
    {
        string asDouble = graph.Node("Cast", new[] { value }, A.Int("to", OnnxGraph.Double));
        return graph.Node("Div", new[] { graph.Node("Sub", new[] { asDouble, graph.DoubleScalar("mean", mean) }), graph.DoubleScalar("std", std) });
    }

    /// <summary>One scale's skip: through its memory (divide, address, read, assemble) when it has one.</summary>
    private string Skip(int scale, string features)
    {
        var plan = scales[scale - 1];
        if (!plan.HasMemory)
        {
            return features;
        }

        long cl = plan.Channels, size = plan.Size, rc = plan.ChannelRatio, rh = plan.HeightRatio, rw = plan.WidthRatio;
        long q = plan.BlockCount, d = plan.BlockLength;
        var items = Values(generatorState[$"memories.scale{scale}.memory.<Items>k__BackingField"]);
        int n = options.Network.MemoryItems;

        // Divide: [N, C, H, W] → [N, Q, D] in the order of BlockDivider.
        string blocks = graph.Reshape(features, 0, rc, cl / rc, rh, size / rh, rw, size / rw);
        blocks = graph.Node("Transpose", new[] { blocks }, A.Ints("perm", 0, 1, 3, 5, 2, 4, 6));
        blocks = graph.Reshape(blocks, 0, q, d);

        // Address (eq. 1): softmax over cos(q, m)/T, the products scaled by the inverse norms as BlockMemory does.
        string itemsName = graph.Initializer($"memory{scale}.items", items, n, d);
        string itemsT = graph.Node("Transpose", new[] { itemsName }, A.Ints("perm", 1, 0));
        var itemScale = new float[n];
        for (int i = 0; i < n; i++)
        {
            double norm = 0;
            for (long k = 0; k < d; k++)
            {
                norm += (double)items[(i * d) + k] * items[(i * d) + k];
            }

            itemScale[i] = (float)(1.0 / Math.Max(Math.Sqrt(norm), NormEpsilon) / options.Network.MemoryTemperature);
        }

        string queryNorm = graph.Node("ReduceL2", new[] { blocks }, A.Ints("axes", 2), A.Int("keepdims", 1));
        string queryScale = graph.Node("Reciprocal", new[] { graph.Node("Max", new[] { queryNorm, graph.Scalar("eps", NormEpsilon) }) });
        string logits = graph.Node("MatMul", new[] { blocks, itemsT });
        logits = graph.Node("Mul", new[] { graph.Node("Mul", new[] { logits, queryScale }), graph.Initializer($"memory{scale}.item_scale", itemScale, n) });
        string weights = graph.Node("Softmax", new[] { logits }, A.Int("axis", -1));
        if (memoryWeight > 0 && scales.First(p => p.HasMemory).Scale == scale)
        {
            // M(x): 1 − the largest cosine (the logits times T), averaged over the blocks, as BlockMemory.Distance.
            string nearest = graph.Node("Mul", new[] { graph.Node("ReduceMax", new[] { logits }, A.Ints("axes", 2), A.Int("keepdims", 0)), graph.Scalar("temperature", (float)options.Network.MemoryTemperature) });
            memoryDistance = graph.Node("ReduceMean", new[] { graph.Node("Sub", new[] { graph.Scalar("one", 1f), nearest }) }, A.Ints("axes", 1), A.Int("keepdims", 0));
        }

        double shrink = options.Network.ShrinkThreshold;
        if (shrink > 0)
        {
            string shifted = graph.Node("Sub", new[] { weights, graph.Scalar("shrink", (float)shrink) });
            string kept = graph.Node("Mul", new[] { graph.Node("Relu", new[] { shifted }), weights });
            weights = graph.Node("Div", new[] { kept, graph.Node("Add", new[] { graph.Node("Abs", new[] { shifted }), graph.Scalar("shrink_eps", NormEpsilon) }) });
            string total = graph.Node("ReduceSum", new[] { weights, graph.Int64s("last_axis", new long[] { -1 }, 1) }, A.Int("keepdims", 1));
            weights = graph.Node("Div", new[] { weights, graph.Node("Max", new[] { total, graph.Scalar("shrink_eps", NormEpsilon) }) });
        }

        // Read (eq. 2) and assemble: [N, Q, D] → [N, C, H, W].
        string read = graph.Node("MatMul", new[] { weights, itemsName });
        read = graph.Reshape(read, 0, rc, rh, rw, cl / rc, size / rh, size / rw);
        read = graph.Node("Transpose", new[] { read }, A.Ints("perm", 0, 1, 4, 2, 5, 3, 6));
        return graph.Reshape(read, 0, cl, size, size);
    }

    /// <summary>f_D: the discriminator's stages, flattened, projected (and L2-normalised when training normalised them).</summary>
    private string Features(string input)
    {
        var net = options.Network;
        int stages = (int)Math.Log2(net.ImageSize / 4);
        string h = input;
        for (int i = 0; i < stages; i++)
        {
            int width = (int)Math.Min((long)net.DiscriminatorBaseWidth << i, net.DiscriminatorMaxWidth);
            h = Conv($"stages.{i}.conv.conv", h, width, kernel: 4, stride: 2, pad: 1, transposed: false, bias: i == 0, discriminatorState);
            if (i > 0)
            {
                h = BatchNorm($"stages.{i}.bn", h, discriminatorState);
            }

            h = graph.Node("LeakyRelu", new[] { h }, A.FloatValue("alpha", 0.2f));
        }

        h = graph.Node("Flatten", new[] { h }, A.Int("axis", 1));
        var weight = discriminatorState!["projection.weight"];
        string features = graph.Node("Gemm", new[] { h, Weight("projection.weight", weight), Weight("projection.bias", discriminatorState["projection.bias"]) }, A.Int("transB", 1));
        if (options.Training.NormalizeFeatures)
        {
            string norm = graph.Node("ReduceL2", new[] { features }, A.Ints("axes", 1), A.Int("keepdims", 1));
            features = graph.Node("Div", new[] { features, graph.Node("Max", new[] { norm, graph.Scalar("eps", NormEpsilon) }) });
        }

        return features;
    }

    /// <summary>A SafeConv's convolution with the padded output channels cut to <paramref name="outChannels"/>.</summary>
    private string Conv(string key, string input, long outChannels, int kernel, int stride, int pad, bool transposed, bool bias, Dictionary<string, Tensor>? state = null)
    {
        state ??= generatorState;
        var w = state[key + ".weight"];
        string weight = transposed
            ? Weight(key + ".weight", w.narrow(1, 0, outChannels))
            : Weight(key + ".weight", w.narrow(0, 0, outChannels));
        var inputs = new List<string> { input, weight };
        if (bias)
        {
            inputs.Add(Weight(key + ".bias", state[key + ".bias"].narrow(0, 0, outChannels)));
        }

        return graph.Node(transposed ? "ConvTranspose" : "Conv", inputs.ToArray(), A.Ints("kernel_shape", kernel, kernel), A.Ints("strides", stride, stride), A.Ints("pads", pad, pad, pad, pad));
    }

    private string BatchNorm(string key, string input, Dictionary<string, Tensor>? state = null)
    {
        state ??= generatorState;
        return graph.Node(
            "BatchNormalization",
            new[] { input, Weight(key + ".weight", state[key + ".weight"]), Weight(key + ".bias", state[key + ".bias"]), Weight(key + ".running_mean", state[key + ".running_mean"]), Weight(key + ".running_var", state[key + ".running_var"]) },
            A.FloatValue("epsilon", BatchNormEpsilon));
    }

    private string Weight(string name, Tensor value) => graph.Initializer(name, Values(value), value.shape);

    private static float[] Values(Tensor t) => t.detach().to(float32).cpu().contiguous().data<float>().ToArray();
}
