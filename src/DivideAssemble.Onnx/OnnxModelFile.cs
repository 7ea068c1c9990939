using System.Globalization;
using System.Security.Cryptography;

namespace DivideAssemble.Onnx;

/// <summary>
/// An exported DivideAssemble model read and checked in managed code before ONNX Runtime sees a byte:
/// the protobuf structure (every length bounded), IR version 8 and opset 17, the metadata the exporter
/// writes, the content hash over the graph and its external data, and the input and outputs the options
/// promise. Every problem is an <see cref="InvalidDataException"/> naming the file and the field.
/// </summary>
internal sealed class OnnxModelFile
{
    public const long IrVersion = 8;
    public const long Opset = 17;
    private const int FloatType = 1;

    private OnnxModelFile(string name)
    {
        Name = name;
    }

    /// <summary>Gets the file's name as errors show it.</summary>
    public string Name { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    public DaadOptions Options { get; private set; } = new();

    public ScoreCalibration Calibration { get; private set; } = null!;

    /// <summary>Gets what model selection tried and chose, when the exported model came from it.</summary>
    public SelectionReport? Selection { get; private set; }

    public long GeneratorParameters { get; private set; }

    public long DiscriminatorParameters { get; private set; }

    public string LibraryVersion { get; private set; } = string.Empty;

    /// <summary>Gets the external data file (a name in the model's folder), or <see langword="null"/>.</summary>
    public string? ExternalData { get; private set; }

    public List<ValueInfo> Inputs { get; } = new();

    public List<ValueInfo> Outputs { get; } = new();

    /// <summary>Reads and checks the model at <paramref name="path"/> (and its external data file, if any).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an intact ONNX model exported by DivideAssemble; the message names the file and the field.</exception>
    public static OnnxModelFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        return Read(File.ReadAllBytes(path), $"'{path}'", Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Reads and checks model bytes; <paramref name="folder"/> is where external data would be (none for a stream).</summary>
    public static OnnxModelFile Read(byte[] bytes, string name, string? folder)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var file = new OnnxModelFile(name);
        if (bytes.Length == 0)
        {
            throw new InvalidDataException($"{name} is empty, not an ONNX model.");
        }

        try
        {
            file.Parse(bytes, folder);
        }
        catch (ProtoFormatException ex)
        {
            throw new InvalidDataException($"{name} is not an intact ONNX model: {ex.Message}.", ex);
        }

        return file;
    }

    private void Parse(byte[] bytes, string? folder)
    {
        long? irVersion = null;
        var opsets = new List<(string Domain, long Version)>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        int graphStart = -1, graphLength = 0;
        var reader = new ProtoReader(bytes, "ModelProto");
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtoReader.Varint, "ir_version");
                    irVersion = (long)reader.ReadVarint("ir_version");
                    break;
                case 7:
                    reader.Expect(field, wire, ProtoReader.Length, "graph");
                    if (graphStart >= 0)
                    {
                        throw reader.Error("holds more than one graph");
                    }

                    var graph = reader.ReadBytes("graph");
                    graphStart = reader.Position - graph.Length;
                    graphLength = graph.Length;
                    break;
                case 8:
                    reader.Expect(field, wire, ProtoReader.Length, "opset_import");
                    opsets.Add(ReadOpset(reader.ReadBytes("opset_import")));
                    break;
                case 14:
                    reader.Expect(field, wire, ProtoReader.Length, "metadata_props");
                    var (key, value) = ReadEntry(reader.ReadBytes("metadata_props"), "ModelProto.metadata_props");
                    if (!metadata.TryAdd(key, value))
                    {
                        throw reader.Error($"holds the metadata key '{key}' twice");
                    }

                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        if (irVersion is null || graphStart < 0)
        {
            throw new InvalidDataException($"{Name} is not an ONNX model: it has no {(irVersion is null ? "ir_version" : "graph")} (ModelProto field {(irVersion is null ? 1 : 7)}).");
        }

        if (irVersion != IrVersion)
        {
            throw new InvalidDataException($"{Name} has IR version {irVersion} (ModelProto.ir_version); this library reads IR version {IrVersion}, the version it exports.");
        }

        var defaultOpset = opsets.Where(o => o.Domain is "" or "ai.onnx").Select(o => (long?)o.Version).FirstOrDefault();
        if (defaultOpset != Opset || opsets.Count != 1)
        {
            string found = opsets.Count == 0 ? "no opset" : string.Join(", ", opsets.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)} {o.Version}"));
            throw new InvalidDataException($"{Name} imports {found} (ModelProto.opset_import); this library reads models of opset {Opset} of the default domain only.");
        }

        Metadata = metadata;
        ReadMetadata(metadata);
        ParseGraph(bytes.AsSpan(graphStart, graphLength), folder);
        CheckContent(bytes.AsSpan(graphStart, graphLength), folder, metadata[ModelMetadata.ContentHashKey]);
        if (Options.Training.MemoryInit == MemoryInit.Auto && Options.EffectiveMemoryWeight() > 0 && !Outputs.Any(o => o.Name == ModelMetadata.MemoryDistanceOutput))
        {
            // Exported before items could start from samples: they started uniform (and scores had no memory distance).
            Options.Training.MemoryInit = MemoryInit.Uniform;
        }

        CheckSignature();
    }

    private void ReadMetadata(Dictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(ModelMetadata.SchemaKey, out string? schema) || !metadata.TryGetValue(ModelMetadata.OptionsKey, out string? optionsJson))
        {
            throw new InvalidDataException($"{Name} has no '{ModelMetadata.OptionsKey}' metadata (ModelProto.metadata_props): it was not exported by DivideAssemble, or its metadata was stripped.");
        }

        if (schema != ModelMetadata.SchemaVersion)
        {
            throw new InvalidDataException($"{Name} has metadata schema '{schema}' ({ModelMetadata.SchemaKey}); this library reads schema {ModelMetadata.SchemaVersion}.");
        }

        foreach (string key in new[] { ModelMetadata.CalibrationKey, ModelMetadata.ContentHashKey, ModelMetadata.ParametersKey, ModelMetadata.PreprocessingKey, ModelMetadata.LibraryVersionKey })
        {
            if (!metadata.ContainsKey(key))
            {
                throw new InvalidDataException($"{Name} lacks the '{key}' metadata (ModelProto.metadata_props).");
            }
        }

        Options = ModelMetadata.OptionsFromJson(optionsJson, $"{Name} ({ModelMetadata.OptionsKey})");
        Calibration = ModelMetadata.CalibrationFromJson(metadata[ModelMetadata.CalibrationKey], $"{Name} ({ModelMetadata.CalibrationKey})");
        LibraryVersion = metadata[ModelMetadata.LibraryVersionKey];
        if (metadata.TryGetValue(ModelMetadata.SelectionKey, out string? selection))
        {
            try
            {
                Selection = System.Text.Json.JsonSerializer.Deserialize<SelectionReport>(selection, ModelMetadata.Json);
            }
            catch (System.Text.Json.JsonException ex)
            {
                throw new InvalidDataException($"{Name} has malformed '{ModelMetadata.SelectionKey}' metadata: {ex.Message}", ex);
            }
        }

        var counts = metadata[ModelMetadata.ParametersKey].Split(',');
        if (counts.Length != 2 || !long.TryParse(counts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long g) || !long.TryParse(counts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long d))
        {
            throw new InvalidDataException($"{Name} has malformed '{ModelMetadata.ParametersKey}' metadata: '{metadata[ModelMetadata.ParametersKey]}'.");
        }

        GeneratorParameters = g;
        DiscriminatorParameters = d;
    }

    private void ParseGraph(ReadOnlySpan<byte> graph, string? folder)
    {
        var reader = new ProtoReader(graph, "ModelProto.graph");
        int nodes = 0, initializers = 0;
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1:
                    reader.Expect(field, wire, ProtoReader.Length, "node");
                    CheckNode(reader.ReadBytes("node"), $"ModelProto.graph.node[{nodes++}]");
                    break;
                case 5:
                    reader.Expect(field, wire, ProtoReader.Length, "initializer");
                    CheckInitializer(reader.ReadBytes("initializer"), $"ModelProto.graph.initializer[{initializers++}]", folder);
                    break;
                case 11:
                    reader.Expect(field, wire, ProtoReader.Length, "input");
                    Inputs.Add(ReadValueInfo(reader.ReadBytes("input"), $"ModelProto.graph.input[{Inputs.Count}]"));
                    break;
                case 12:
                    reader.Expect(field, wire, ProtoReader.Length, "output");
                    Outputs.Add(ReadValueInfo(reader.ReadBytes("output"), $"ModelProto.graph.output[{Outputs.Count}]"));
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        if (nodes == 0)
        {
            throw new InvalidDataException($"{Name} has an empty graph (ModelProto.graph.node).");
        }
    }

    private void CheckSignature()
    {
        var net = Options.Network;
        if (Inputs.Count != 1 || Inputs[0].Name != ModelMetadata.InputName)
        {
            throw new InvalidDataException($"{Name} has inputs [{string.Join(", ", Inputs.Select(i => i.Name))}] (ModelProto.graph.input); a DivideAssemble model takes one input '{ModelMetadata.InputName}'.");
        }

        Expect(Inputs[0], "ModelProto.graph.input[0]", net.Channels, net.ImageSize, net.ImageSize);
        var expected = new List<string> { ModelMetadata.ScoresOutput, ModelMetadata.ReconstructionErrorOutput };
        if (net.HasDiscriminator)
        {
            expected.Add(ModelMetadata.AlignmentErrorOutput);
        }

        if (Options.EffectiveMemoryWeight() > 0)
        {
            expected.Add(ModelMetadata.MemoryDistanceOutput);
        }

        expected.Add(ModelMetadata.MapsOutput);
        expected.Add(ModelMetadata.ReconstructionsOutput);
        if (!Outputs.Select(o => o.Name).SequenceEqual(expected))
        {
            throw new InvalidDataException($"{Name} has outputs [{string.Join(", ", Outputs.Select(o => o.Name))}] (ModelProto.graph.output); a {net.Variant} model exports [{string.Join(", ", expected)}].");
        }

        for (int i = 0; i < Outputs.Count; i++)
        {
            var o = Outputs[i];
            string field = $"ModelProto.graph.output[{i}] ('{o.Name}')";
            switch (o.Name)
            {
                case ModelMetadata.MapsOutput:
                    Expect(o, field, net.ImageSize, net.ImageSize);
                    break;
                case ModelMetadata.ReconstructionsOutput:
                    Expect(o, field, net.Channels, net.ImageSize, net.ImageSize);
                    break;
                default:
                    Expect(o, field);
                    break;
            }
        }
    }

    /// <summary>Checks a float tensor of shape [N, <paramref name="dims"/>…] with a symbolic batch dimension.</summary>
    private void Expect(ValueInfo value, string field, params long[] dims)
    {
        string shape = "[" + string.Join(", ", value.Dims.Select(d => d?.ToString() ?? "?")) + "]";
        bool ok = value.ElementType == FloatType && value.Dims.Count == dims.Length + 1 && value.Dims[0] is string
            && dims.Select((d, i) => value.Dims[i + 1] is long v && v == d).All(b => b);
        if (!ok)
        {
            string want = "[N" + string.Concat(dims.Select(d => $", {d}")) + "]";
            throw new InvalidDataException($"{Name} declares {field} as element type {value.ElementType} {shape}; the model's options (metadata '{ModelMetadata.OptionsKey}') make it float32 {want}.");
        }
    }

    private void CheckContent(ReadOnlySpan<byte> graph, string? folder, string expectedHash)
    {
        using var content = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        content.AppendData(SHA256.HashData(graph));
        if (ExternalData is not null)
        {
            string dataPath = Path.Combine(folder!, ExternalData);
            using var data = File.OpenRead(dataPath);
            content.AppendData(SHA256.HashData(data));
        }

        string actual = Convert.ToHexString(content.GetHashAndReset()).ToLowerInvariant();
        if (!string.Equals(actual, expectedHash, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{Name} fails its content hash ('{ModelMetadata.ContentHashKey}'): the graph{(ExternalData is null ? string.Empty : " or its external data")} was changed or damaged after export.");
        }
    }

    private static (string Domain, long Version) ReadOpset(ReadOnlySpan<byte> bytes)
    {
        var reader = new ProtoReader(bytes, "ModelProto.opset_import");
        string domain = string.Empty;
        long version = -1;
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            if (field == 1 && wire == ProtoReader.Length)
            {
                domain = reader.ReadString("domain");
            }
            else if (field == 2 && wire == ProtoReader.Varint)
            {
                version = (long)reader.ReadVarint("version");
            }
            else
            {
                reader.Skip(field, wire);
            }
        }

        return (domain, version);
    }

    private static (string Key, string Value) ReadEntry(ReadOnlySpan<byte> bytes, string path)
    {
        var reader = new ProtoReader(bytes, path);
        string key = string.Empty, value = string.Empty;
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            if (field == 1 && wire == ProtoReader.Length)
            {
                key = reader.ReadString("key");
            }
            else if (field == 2 && wire == ProtoReader.Length)
            {
                value = reader.ReadString("value");
            }
            else
            {
                reader.Skip(field, wire);
            }
        }

        return (key, value);
    }

    private static void CheckNode(ReadOnlySpan<byte> bytes, string path)
    {
        var reader = new ProtoReader(bytes, path);
        bool hasOp = false;
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            if (field == 4 && wire == ProtoReader.Length)
            {
                hasOp = reader.ReadString("op_type").Length > 0;
            }
            else
            {
                reader.Skip(field, wire);
            }
        }

        if (!hasOp)
        {
            throw reader.Error("has no op_type");
        }
    }

    private void CheckInitializer(ReadOnlySpan<byte> bytes, string path, string? folder)
    {
        var reader = new ProtoReader(bytes, path);
        var dims = new List<long>();
        int type = 0;
        long rawLength = -1;
        bool external = false;
        string? location = null;
        long offset = -1, length = -1;
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1 when wire == ProtoReader.Varint:
                    dims.Add((long)reader.ReadVarint("dims"));
                    break;
                case 1 when wire == ProtoReader.Length:
                    var packed = new ProtoReader(reader.ReadBytes("dims"), path + ".dims");
                    while (!packed.AtEnd)
                    {
                        dims.Add((long)packed.ReadVarint("dims"));
                    }

                    break;
                case 2 when wire == ProtoReader.Varint:
                    type = (int)reader.ReadVarint("data_type");
                    break;
                case 9 when wire == ProtoReader.Length:
                    rawLength = reader.ReadBytes("raw_data").Length;
                    break;
                case 13 when wire == ProtoReader.Length:
                    var (key, value) = ReadEntry(reader.ReadBytes("external_data"), path + ".external_data");
                    switch (key)
                    {
                        case "location":
                            location = value;
                            break;
                        case "offset":
                            offset = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long o) ? o : -2;
                            break;
                        case "length":
                            length = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long l) ? l : -2;
                            break;
                    }

                    break;
                case 14 when wire == ProtoReader.Varint:
                    external = reader.ReadVarint("data_location") == 1;
                    break;
                default:
                    reader.Skip(field, wire);
                    break;
            }
        }

        long elements = 1;
        foreach (long d in dims)
        {
            if (d < 0 || (d > 0 && elements > long.MaxValue / d))
            {
                throw reader.Error($"has the impossible dims [{string.Join(", ", dims)}]");
            }

            elements *= d;
        }

        long elementSize = type switch { 1 => 4, 7 => 8, 11 => 8, _ => throw reader.Error($"has data_type {type}; DivideAssemble exports float, int64 and double tensors only") };
        if (!external)
        {
            if (rawLength != elements * elementSize)
            {
                throw reader.Error($"holds {Math.Max(rawLength, 0):N0} bytes of raw_data for {elements:N0} values of {elementSize} bytes");
            }

            return;
        }

        if (location is null || location.Length == 0 || location != Path.GetFileName(location) || location.StartsWith('.'))
        {
            throw reader.Error($"names the external data location '{location}'; it must be a file name beside the model");
        }

        if (folder is null)
        {
            throw new InvalidDataException($"{Name} keeps its weights in the external file '{location}'; load it from a path, not from bytes or a stream.");
        }

        if (ExternalData is not null && ExternalData != location)
        {
            throw reader.Error($"names a second external data file '{location}' (the first is '{ExternalData}')");
        }

        ExternalData = location;
        string dataPath = Path.Combine(folder, location);
        if (!File.Exists(dataPath))
        {
            throw new InvalidDataException($"{Name} keeps its weights in '{dataPath}', which does not exist (export writes it beside the model; copy both files).");
        }

        long available = new FileInfo(dataPath).Length;
        if (offset < 0 || length != elements * elementSize || offset > available - length)
        {
            throw reader.Error($"points at bytes {offset:N0}..{offset + length:N0} of '{location}' ({available:N0} bytes) for {elements:N0} values");
        }
    }

    private static ValueInfo ReadValueInfo(ReadOnlySpan<byte> bytes, string path)
    {
        var reader = new ProtoReader(bytes, path);
        string name = string.Empty;
        int type = 0;
        var dims = new List<object?>();
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            if (field == 1 && wire == ProtoReader.Length)
            {
                name = reader.ReadString("name");
            }
            else if (field == 2 && wire == ProtoReader.Length)
            {
                var typeReader = new ProtoReader(reader.ReadBytes("type"), path + ".type");
                while (!typeReader.AtEnd)
                {
                    var (tf, tw) = typeReader.ReadTag();
                    if (tf == 1 && tw == ProtoReader.Length)
                    {
                        (type, dims) = ReadTensorType(typeReader.ReadBytes("tensor_type"), path + ".type.tensor_type");
                    }
                    else
                    {
                        typeReader.Skip(tf, tw);
                    }
                }
            }
            else
            {
                reader.Skip(field, wire);
            }
        }

        return new ValueInfo(name, type, dims);
    }

    private static (int Type, List<object?> Dims) ReadTensorType(ReadOnlySpan<byte> bytes, string path)
    {
        var reader = new ProtoReader(bytes, path);
        int type = 0;
        var dims = new List<object?>();
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            if (field == 1 && wire == ProtoReader.Varint)
            {
                type = (int)reader.ReadVarint("elem_type");
            }
            else if (field == 2 && wire == ProtoReader.Length)
            {
                var shape = new ProtoReader(reader.ReadBytes("shape"), path + ".shape");
                while (!shape.AtEnd)
                {
                    var (sf, sw) = shape.ReadTag();
                    if (sf == 1 && sw == ProtoReader.Length)
                    {
                        var dim = new ProtoReader(shape.ReadBytes("dim"), path + ".shape.dim");
                        object? value = null;
                        while (!dim.AtEnd)
                        {
                            var (df, dw) = dim.ReadTag();
                            if (df == 1 && dw == ProtoReader.Varint)
                            {
                                value = (long)dim.ReadVarint("dim_value");
                            }
                            else if (df == 2 && dw == ProtoReader.Length)
                            {
                                value = dim.ReadString("dim_param");
                            }
                            else
                            {
                                dim.Skip(df, dw);
                            }
                        }

                        dims.Add(value);
                    }
                    else
                    {
                        shape.Skip(sf, sw);
                    }
                }
            }
            else
            {
                reader.Skip(field, wire);
            }
        }

        return (type, dims);
    }

    /// <summary>A graph input or output: name, element type and dimensions (a <see cref="long"/> or a symbolic <see cref="string"/>).</summary>
    internal sealed record ValueInfo(string Name, int ElementType, IReadOnlyList<object?> Dims);
}
