using System.Globalization;
using System.Security.Cryptography;

namespace DivideAssemble.Onnx;

/// <summary>
/// An exported DivideAssemble model read and checked in managed code before ONNX Runtime sees a byte: the
/// top-level protobuf structure (every length bounded), IR version 8 and opset 17, the metadata the
/// exporter writes, the external data file (a name beside the model), and the content hash over the graph
/// and its external data — so a damaged or altered file never reaches ONNX Runtime. What ONNX Runtime
/// checks safely itself (the graph's nodes and tensors) is left to it; the input and outputs the options
/// promise are checked against its session's metadata (<see cref="OnnxSignature"/>). Every problem is an
/// <see cref="InvalidDataException"/> naming the file and the field.
/// </summary>
internal sealed class OnnxModelFile
{
    public const long IrVersion = 8;
    public const long Opset = 17;

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

    public long HeadParameters { get; private set; }

    public string LibraryVersion { get; private set; } = string.Empty;

    /// <summary>Gets the external data file (a name in the model's folder), or <see langword="null"/>.</summary>
    public string? ExternalData { get; private set; }

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

        if (Hosting.ModelFiles.IsDaadModel(bytes))
        {
            throw new InvalidDataException($"{name} is a DivideAssemble model file (.daad), not an exported ONNX model: load it with AnomalyDetector.Load (package DivideAssemble), or export it first with AnomalyDetector.ExportOnnx or daad export.");
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
        FindExternalData(bytes.AsSpan(graphStart, graphLength), folder);
        CheckContent(bytes.AsSpan(graphStart, graphLength), folder, metadata[ModelMetadata.ContentHashKey]);
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
        var parsed = counts.Select(c => long.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : -1).ToArray();
        if (counts.Length is not (2 or 3) || parsed.Any(v => v < 0))
        {
            throw new InvalidDataException($"{Name} has malformed '{ModelMetadata.ParametersKey}' metadata: '{metadata[ModelMetadata.ParametersKey]}'.");
        }

        GeneratorParameters = parsed[0];
        HeadParameters = parsed.Length == 3 ? parsed[2] : 0;
        long d = parsed[1];
        DiscriminatorParameters = d;
    }

    /// <summary>Finds the external data file the graph's initializers name (at most one, a file name beside the model).</summary>
    private void FindExternalData(ReadOnlySpan<byte> graph, string? folder)
    {
        var reader = new ProtoReader(graph, "ModelProto.graph");
        int initializers = 0;
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            if (field == 5 && wire == ProtoReader.Length)
            {
                string? location = ExternalLocation(reader.ReadBytes("initializer"), $"ModelProto.graph.initializer[{initializers++}]");
                if (location is not null)
                {
                    UseExternalData(location, folder, $"ModelProto.graph.initializer[{initializers - 1}]");
                }
            }
            else
            {
                reader.Skip(field, wire);
            }
        }
    }

    /// <summary>The external data location of an initializer stored outside the model, else <see langword="null"/>.</summary>
    private static string? ExternalLocation(ReadOnlySpan<byte> bytes, string path)
    {
        var reader = new ProtoReader(bytes, path);
        string? location = null;
        bool external = false;
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            if (field == 13 && wire == ProtoReader.Length)
            {
                var (key, value) = ReadEntry(reader.ReadBytes("external_data"), path + ".external_data");
                location = key == "location" ? value : location;
            }
            else if (field == 14 && wire == ProtoReader.Varint)
            {
                external = reader.ReadVarint("data_location") == 1;
            }
            else
            {
                reader.Skip(field, wire);
            }
        }

        return external ? location ?? string.Empty : null;
    }

    private void UseExternalData(string location, string? folder, string path)
    {
        if (location.Length == 0 || location != Path.GetFileName(location) || location.StartsWith('.'))
        {
            throw new InvalidDataException($"{Name} is not an intact ONNX model: {path} names the external data location '{location}'; it must be a file name beside the model.");
        }

        if (folder is null)
        {
            throw new InvalidDataException($"{Name} keeps its weights in the external file '{location}'; load it from a path, not from bytes or a stream.");
        }

        if (ExternalData is not null && ExternalData != location)
        {
            throw new InvalidDataException($"{Name} is not an intact ONNX model: {path} names a second external data file '{location}' (the first is '{ExternalData}').");
        }

        string dataPath = Path.Combine(folder, location);
        if (!File.Exists(dataPath))
        {
            throw new InvalidDataException($"{Name} keeps its weights in '{dataPath}', which does not exist (export writes it beside the model; copy both files).");
        }

        ExternalData = location;
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
}
