using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using DivideAssemble.Graph;
using DivideAssemble.Modules;
using DivideAssemble.Scoring;
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

    private readonly OnnxGraph graph = new();
    private readonly DaadOptions options;
    private readonly NetworkGraph network;
    private readonly double memoryWeight;
    private readonly double headWeight;
    private readonly FlipViews views;

    private OnnxExporter(ModelNetworks networks, DaadOptions options)
    {
        this.options = options;
        memoryWeight = options.EffectiveMemoryWeight();
        headWeight = options.EffectiveHeadWeight();
        views = FlipViews.Of(options);
        network = new NetworkGraph(graph, networks, options, memoryWeight > 0);
    }

    /// <summary>
    /// Exports to <paramref name="path"/>; returns the paths written (the model, and its external data
    /// file when the weights exceed <paramref name="externalThreshold"/> bytes). The data file, named after
    /// a digest of its content, is written first; the model, which names it, is renamed into place last,
    /// so readers see the old export or the new one, never a mix; data files of earlier exports of the same
    /// path are removed afterwards.
    /// </summary>
    public static IReadOnlyList<string> Export(
        string path, ModelNetworks networks, DaadOptions options, ScoreCalibration calibration,
        long generatorParameters, long discriminatorParameters, long headParameters, long externalThreshold = DefaultExternalThreshold, SelectionReport? selection = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var exporter = new OnnxExporter(networks, options);
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

        var model = exporter.Model(graphMessage, calibration, (generatorParameters, discriminatorParameters, headParameters), Convert.ToHexString(content.GetHashAndReset()).ToLowerInvariant(), selection);
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
            return $"DivideAssemble {net.Variant}, {net.ResolvedChannels}×{net.ImageSize}×{net.ImageSize}. Input 'images' [N, C, S, S] in [-1, 1] (preprocessing in metadata). Outputs: scores (calibrated A(x)), R, {(net.HasDiscriminator ? "L, " : string.Empty)}{(memoryWeight > 0 ? "M, " : string.Empty)}{(headWeight > 0 ? "H, " : string.Empty)}maps [N, S, S], reconstructions.";
        }
    }

    private ProtoMessage Model(ProtoMessage graphMessage, ScoreCalibration calibration, (long Generator, long Discriminator, long Head) parameters, string contentHash, SelectionReport? selection)
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
            new(ModelMetadata.PreprocessingKey, JsonSerializer.Serialize(PreprocessingContract.For(net.ResolvedChannels, net.ImageSize), ModelMetadata.Json)),
            new(ModelMetadata.ParametersKey, parameters.Head > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{parameters.Generator},{parameters.Discriminator},{parameters.Head}")
                : string.Create(CultureInfo.InvariantCulture, $"{parameters.Generator},{parameters.Discriminator}")),
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
        int c = net.ResolvedChannels, s = net.ImageSize;
        graph.Input(ModelMetadata.InputName, OnnxGraph.Float, "N", c, s, s);
        // Every view of the images (ScoringOptions.FlipAveraging) as one batch; the output reconstructions are the first view's.
        string x = views.Stack(graph, ModelMetadata.InputName);
        string recon = views.Count == 1 ? ModelMetadata.ReconstructionsOutput : "reconstructions_views";
        network.Generator(x, recon);
        if (views.Count > 1)
        {
            graph.NodeTo("Identity", new[] { views.First(graph, recon, c, s, s) }, new[] { ModelMetadata.ReconstructionsOutput });
        }

        Score(x, recon, calibration);

        graph.Output(ModelMetadata.ScoresOutput, OnnxGraph.Float, "N");
        graph.Output(ModelMetadata.ReconstructionErrorOutput, OnnxGraph.Float, "N");
        if (options.Network.HasDiscriminator)
        {
            graph.Output(ModelMetadata.AlignmentErrorOutput, OnnxGraph.Float, "N");
        }

        if (memoryWeight > 0)
        {
            graph.Output(ModelMetadata.MemoryDistanceOutput, OnnxGraph.Float, "N");
        }

        if (headWeight > 0)
        {
            graph.Output(ModelMetadata.HeadScoreOutput, OnnxGraph.Float, "N");
        }

        graph.Output(ModelMetadata.MapsOutput, OnnxGraph.Float, "N", s, s);
        graph.Output(ModelMetadata.ReconstructionsOutput, OnnxGraph.Float, "N", c, s, s);
    }

    /// <summary>The anomaly map, R(x), L(x), M(x) and the calibrated score, as <see cref="AnomalyScorer"/> computes them, from every view of the images (<paramref name="x"/>) and their reconstructions.</summary>
    private void Score(string x, string recon, ScoreCalibration calibration)
    {
        var scoring = options.Scoring;
        int c = options.Network.ResolvedChannels, s = options.Network.ImageSize;
        var methods = ScoringMethods.Current;
        var residualMethod = methods.Residual(scoring.Residual);
        string residual = graph.Node("Sub", new[] { x, recon });
        string raw = views.AverageMaps(graph, residualMethod.Map(graph, residual, scoring, c, s, residualMethod.NormalisesScales ? calibration.ResidualNormalisers : null), s);
        string map = AnomalyMapGraph.Smooth(graph, raw, scoring.MapSigma(s), 0, s);
        if (headWeight == 0)
        {
            graph.NodeTo("Identity", new[] { map }, new[] { ModelMetadata.MapsOutput });
        }

        var pooling = methods.Pooling(scoring.Pooling);
        string r = pooling.Pool(graph, raw, map, s, scoring);
        string? headScore = null;
        if (headWeight > 0)
        {
            // H(x) pools the head's probability as R pools the residual. The anomaly map: at 0 < w < 1 both maps mixed
            // as ScoreCalibration.MixMaps mixes them (constants of this calibration), else the head's alone.
            string probability = views.AverageMaps(graph, graph.Reshape(graph.Node("Sigmoid", new[] { network.Head(x, recon) }), -1, s, s), s);
            string headMap = AnomalyMapGraph.Smooth(graph, probability, scoring.MapSigma(s), 0, s);
            if (ScoreCalibration.MixesMaps(headWeight) && calibration.HeadMapScale is not null)
            {
                var (a, b) = calibration.MapWeights(headWeight);
                string residualPart = graph.Node("Mul", new[] { map, graph.Scalar("map_residual_weight", a) });
                string headPart = graph.Node("Mul", new[] { headMap, graph.Scalar("map_head_weight", b) });
                graph.NodeTo("Add", new[] { residualPart, headPart }, new[] { ModelMetadata.MapsOutput });
            }
            else
            {
                graph.NodeTo("Identity", new[] { headMap }, new[] { ModelMetadata.MapsOutput });
            }

            headScore = pooling.Pool(graph, probability, headMap, s, scoring);
        }

        graph.NodeTo("Identity", new[] { r }, new[] { ModelMetadata.ReconstructionErrorOutput });

        // L(x) through the discriminator's features (DAAD+), then eq. 7 in double precision.
        string score = Standardise(ModelMetadata.ReconstructionErrorOutput, calibration.ReconstructionMean, calibration.ReconstructionStd);
        if (options.Network.HasDiscriminator)
        {
            string diff = graph.Node("Sub", new[] { network.Features(x), network.Features(recon) });
            string l = views.AverageValues(graph, graph.Reduce("ReduceMean", graph.Node("Mul", new[] { diff, diff }), 1));
            graph.NodeTo("Identity", new[] { l }, new[] { ModelMetadata.AlignmentErrorOutput });
            string lz = Standardise(ModelMetadata.AlignmentErrorOutput, calibration.AlignmentMean, calibration.AlignmentStd);
            score = Mix(score, scoring.Gamma, "gamma", lz, 1 - scoring.Gamma, "one_minus_gamma");
        }

        // M(x), the memory distance, mixed in with weight β as ScoreCalibration.Combine does.
        if (memoryWeight > 0)
        {
            graph.NodeTo("Identity", new[] { views.AverageValues(graph, network.MemoryDistance ?? throw new InvalidOperationException("The memory distance was not built.")) }, new[] { ModelMetadata.MemoryDistanceOutput });
            string mz = Standardise(ModelMetadata.MemoryDistanceOutput, calibration.MemoryMean, calibration.MemoryStd);
            score = Mix(score, 1 - memoryWeight, "one_minus_beta", mz, memoryWeight, "beta");
        }

        // H(x), the head score, mixed in with weight w as ScoreCalibration.Combine does (w = 1: the head alone).
        if (headScore is not null)
        {
            graph.NodeTo("Identity", new[] { headScore }, new[] { ModelMetadata.HeadScoreOutput });
            string hz = Standardise(ModelMetadata.HeadScoreOutput, calibration.HeadMean, calibration.HeadStd);
            score = headWeight == 1 ? hz : Mix(score, 1 - headWeight, "one_minus_w", hz, headWeight, "w");
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
}
