using System.Globalization;

namespace DivideAssemble.Graph;

/// <summary>
/// Builds an ONNX graph (opset 17) and its model message: nodes with unique output names, float and
/// int64 initializers, typed inputs and outputs with a symbolic batch dimension. Field numbers are
/// those of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto).
/// </summary>
internal sealed class OnnxGraph
{
    public const long IrVersion = 8;
    public const long Opset = 17;
    public const int Float = 1;
    public const int Int64 = 7;
    public const int Double = 11;

    /// <summary>Initializers of at least this many bytes go to the external data file when there is one.</summary>
    public const long ExternalMinimumBytes = 1024;

    private readonly List<ProtoMessage> nodes = new();
    private readonly List<Tensor> initializers = new();
    private readonly List<ProtoMessage> inputs = new();
    private readonly List<ProtoMessage> outputs = new();
    private readonly HashSet<string> names = new(StringComparer.Ordinal);

    /// <summary>Gets the number of bytes of all initializers.</summary>
    public long InitializerBytes => initializers.Sum(t => t.Bytes);

    /// <summary>Adds a float initializer (the array is kept, not copied) and returns its name.</summary>
    public string Initializer(string hint, float[] values, params long[] dims)
    {
        CheckDims(values.LongLength, dims, hint);
        string name = Unique(hint);
        initializers.Add(new Tensor(name, Float, dims, values, null, 0));
        return name;
    }

    /// <summary>Adds an int64 initializer and returns its name.</summary>
    public string Int64s(string hint, long[] values, params long[] dims)
    {
        CheckDims(values.LongLength, dims, hint);
        string name = Unique(hint);
        initializers.Add(new Tensor(name, Int64, dims, null, values, 0));
        return name;
    }

    /// <summary>Adds a float scalar (a 0-d tensor) and returns its name.</summary>
    public string Scalar(string hint, float value) => Initializer(hint, new[] { value });

    /// <summary>Adds a double scalar (a 0-d tensor) and returns its name.</summary>
    public string DoubleScalar(string hint, double value)
    {
        string name = Unique(hint);
        initializers.Add(new Tensor(name, Double, Array.Empty<long>(), null, null, value));
        return name;
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string op, string[] nodeInputs, params Attribute[] attributes) => Node(op, nodeInputs, 1, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs and returns their names.</summary>
    public string[] Node(string op, string[] nodeInputs, int outputCount, params Attribute[] attributes)
    {
        var outs = Enumerable.Range(0, outputCount).Select(i => Unique($"{op}_{nodes.Count}" + (outputCount > 1 ? $"_{i}" : string.Empty))).ToArray();
        Add(op, nodeInputs, outs, attributes);
        return outs;
    }

    /// <summary>Adds a Reshape node to <paramref name="shape"/> (0 keeps a dimension, -1 infers it).</summary>
    public string Reshape(string input, params long[] shape) => Node("Reshape", new[] { input, Int64s("shape", shape, shape.Length) });

    /// <summary>Adds a reduction over <paramref name="axes"/> without keeping them (ReduceMean, ReduceMax, ReduceMin, ReduceL2 take their axes as an attribute at opset 17).</summary>
    public string Reduce(string op, string input, params long[] axes) => Node(op, new[] { input }, Attribute.Ints("axes", axes), Attribute.Int("keepdims", 0));

    /// <summary>Adds a node writing to the given output names (graph outputs).</summary>
    public void NodeTo(string op, string[] nodeInputs, string[] nodeOutputs, params Attribute[] attributes)
    {
        foreach (string o in nodeOutputs)
        {
            if (!names.Add(o))
            {
                throw new InvalidOperationException($"The value name '{o}' is used twice.");
            }
        }

        Add(op, nodeInputs, nodeOutputs, attributes);
    }

    /// <summary>Declares a graph input; a string dimension is symbolic.</summary>
    public void Input(string name, int elementType, params object[] dims)
    {
        names.Add(name);
        inputs.Add(ValueInfo(name, elementType, dims));
    }

    /// <summary>Declares a graph output; a string dimension is symbolic.</summary>
    public void Output(string name, int elementType, params object[] dims) => outputs.Add(ValueInfo(name, elementType, dims));

    /// <summary>
    /// Returns the GraphProto. With <paramref name="externalLocation"/>, float initializers of at least
    /// <see cref="ExternalMinimumBytes"/> are referenced as ONNX external data in that file (offsets
    /// aligned to 4 KiB), which <see cref="WriteExternalData"/> then writes.
    /// </summary>
    public ProtoMessage Graph(string graphName, string docString, string? externalLocation)
    {
        var graph = new ProtoMessage();
        foreach (var node in nodes)
        {
            graph.Message(1, node); // GraphProto.node
        }

        graph.String(2, graphName); // GraphProto.name
        long offset = 0;
        foreach (var tensor in initializers)
        {
            if (externalLocation is not null && IsExternal(tensor))
            {
                offset = Align(offset);
                graph.Message(5, tensor.External(externalLocation, offset)); // GraphProto.initializer
                offset += tensor.Bytes;
            }
            else
            {
                graph.Message(5, tensor.Inline());
            }
        }

        graph.String(10, docString); // GraphProto.doc_string
        foreach (var input in inputs)
        {
            graph.Message(11, input); // GraphProto.input
        }

        foreach (var output in outputs)
        {
            graph.Message(12, output); // GraphProto.output
        }

        return graph;
    }

    /// <summary>Writes the external initializers at the offsets <see cref="Graph"/> gave them.</summary>
    public void WriteExternalData(Stream stream)
    {
        long position = 0;
        foreach (var tensor in initializers.Where(IsExternal))
        {
            long offset = Align(position);
            stream.Write(new byte[offset - position]);
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Floats!.AsSpan()));
            position = offset + tensor.Bytes;
        }
    }

    /// <summary>Returns the ModelProto around <paramref name="graph"/>: IR version 8, opset 17 of the default domain, and the metadata.</summary>
    public static ProtoMessage Model(ProtoMessage graph, string docString, IReadOnlyList<KeyValuePair<string, string>> metadata, string producerVersion)
    {
        var model = new ProtoMessage()
            .Varint(1, IrVersion) // ModelProto.ir_version
            .String(2, "DivideAssemble") // producer_name
            .String(3, producerVersion) // producer_version
            .String(4, "org.divideassemble") // domain
            .Varint(5, 1) // model_version
            .String(6, docString) // doc_string
            .Message(7, graph) // graph
            .Message(8, new ProtoMessage().String(1, string.Empty).Varint(2, Opset)); // opset_import: the default domain
        foreach (var (key, value) in metadata)
        {
            model.Message(14, new ProtoMessage().String(1, key).String(2, value)); // metadata_props
        }

        return model;
    }

    private static bool IsExternal(Tensor tensor) => tensor.Floats is not null && tensor.Bytes >= ExternalMinimumBytes;

    private static long Align(long offset) => (offset + 4095) / 4096 * 4096;

    private void Add(string op, string[] nodeInputs, string[] nodeOutputs, Attribute[] attributes)
    {
        var node = new ProtoMessage();
        foreach (string i in nodeInputs)
        {
            node.String(1, i); // NodeProto.input
        }

        foreach (string o in nodeOutputs)
        {
            node.String(2, o); // NodeProto.output
        }

        node.String(3, $"{op}_{nodes.Count}"); // NodeProto.name
        node.String(4, op); // NodeProto.op_type
        foreach (var a in attributes)
        {
            node.Message(5, a.ToProto()); // NodeProto.attribute
        }

        nodes.Add(node);
    }

    private static ProtoMessage ValueInfo(string name, int elementType, object[] dims)
    {
        var shape = new ProtoMessage();
        foreach (var d in dims)
        {
            var dim = new ProtoMessage();
            if (d is string symbol)
            {
                dim.String(2, symbol); // Dimension.dim_param
            }
            else
            {
                dim.Varint(1, Convert.ToInt64(d, CultureInfo.InvariantCulture)); // Dimension.dim_value
            }

            shape.Message(1, dim); // TensorShapeProto.dim
        }

        var tensorType = new ProtoMessage().Varint(1, elementType).Message(2, shape); // TypeProto.Tensor: elem_type, shape
        var type = new ProtoMessage().Message(1, tensorType); // TypeProto.tensor_type
        return new ProtoMessage().String(1, name).Message(2, type); // ValueInfoProto: name, type
    }

    private string Unique(string hint)
    {
        string name = hint;
        for (int i = 1; !names.Add(name); i++)
        {
            name = $"{hint}_{i}";
        }

        return name;
    }

    private static void CheckDims(long count, long[] dims, string hint)
    {
        long product = dims.Aggregate(1L, (a, b) => a * b);
        if (product != count)
        {
            throw new InvalidOperationException($"Initializer '{hint}' has {count} values for dims [{string.Join(", ", dims)}].");
        }
    }

    /// <summary>An attribute of a node (AttributeProto).</summary>
    public sealed class Attribute
    {
        private readonly Func<ProtoMessage> build;

        private Attribute(Func<ProtoMessage> build) => this.build = build;

        public static Attribute Int(string name, long value) => new(() => new ProtoMessage().String(1, name).Varint(3, value).Varint(20, 2));

        public static Attribute FloatValue(string name, float value) => new(() => new ProtoMessage().String(1, name).Fixed32(2, value).Varint(20, 1));

        public static Attribute String(string name, string value) => new(() => new ProtoMessage().String(1, name).String(4, value).Varint(20, 3));

        public static Attribute Ints(string name, params long[] values) => new(() =>
        {
            var m = new ProtoMessage().String(1, name);
            foreach (long v in values)
            {
                m.Varint(8, v); // AttributeProto.ints
            }

            return m.Varint(20, 7); // type INTS
        });

        public ProtoMessage ToProto() => build();
    }

    private sealed record Tensor(string Name, int DataType, long[] Dims, float[]? Floats, long[]? Longs, double Scalar)
    {
        public long Bytes => Floats is not null ? Floats.LongLength * 4 : Longs is not null ? Longs.LongLength * 8 : 8;

        public ProtoMessage Inline()
        {
            var m = Header();
            if (Floats is not null)
            {
                m.Floats(9, Floats); // raw_data
            }
            else
            {
                var bytes = Longs is not null ? new byte[Longs.Length * 8] : BitConverter.GetBytes(Scalar);
                if (Longs is not null)
                {
                    Buffer.BlockCopy(Longs, 0, bytes, 0, bytes.Length);
                }

                m.Bytes(9, bytes);
            }

            return m;
        }

        public ProtoMessage External(string location, long offset) => Header()
            .Message(13, new ProtoMessage().String(1, "location").String(2, location)) // external_data
            .Message(13, new ProtoMessage().String(1, "offset").String(2, offset.ToString(CultureInfo.InvariantCulture)))
            .Message(13, new ProtoMessage().String(1, "length").String(2, Bytes.ToString(CultureInfo.InvariantCulture)))
            .Varint(14, 1); // data_location = EXTERNAL

        private ProtoMessage Header()
        {
            var m = new ProtoMessage();
            foreach (long d in Dims)
            {
                m.Varint(1, d); // TensorProto.dims
            }

            return m.Varint(2, DataType).String(8, Name); // data_type, name
        }
    }
}
