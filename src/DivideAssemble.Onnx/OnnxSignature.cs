using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DivideAssemble.Onnx;

/// <summary>
/// Checks a loaded session against what an exported model's options promise: one float32 input
/// <c>images [N, C, S, S]</c> and the outputs of its variant and scoring, in order, each float32 with a
/// symbolic batch — read from ONNX Runtime's own metadata of the graph.
/// </summary>
internal static class OnnxSignature
{
    /// <summary>The outputs a model of these options exports, in order.</summary>
    public static IReadOnlyList<string> ExpectedOutputs(DaadOptions options)
    {
        var expected = new List<string> { ModelMetadata.ScoresOutput, ModelMetadata.ReconstructionErrorOutput };
        if (options.Network.HasDiscriminator)
        {
            expected.Add(ModelMetadata.AlignmentErrorOutput);
        }

        if (options.EffectiveMemoryWeight() > 0)
        {
            expected.Add(ModelMetadata.MemoryDistanceOutput);
        }

        if (options.EffectiveHeadWeight() > 0)
        {
            expected.Add(ModelMetadata.HeadScoreOutput);
        }

        expected.Add(ModelMetadata.MapsOutput);
        expected.Add(ModelMetadata.ReconstructionsOutput);
        return expected;
    }

    /// <summary>
    /// Reconciles the file's options with the session (a model exported before memory items could start from
    /// samples has no memory-distance output: its items started uniform) and checks the signature.
    /// </summary>
    /// <exception cref="InvalidDataException">An input or output differs from what the options promise; the message names the file, the value and both shapes.</exception>
    public static void Check(OnnxModelFile file, InferenceSession session)
    {
        var options = file.Options;
        var outputs = session.OutputNames;
        if (options.Training.MemoryInit == MemoryInit.Auto && options.EffectiveMemoryWeight() > 0 && !outputs.Contains(ModelMetadata.MemoryDistanceOutput))
        {
            options.Training.MemoryInit = MemoryInit.Uniform;
        }

        var net = options.Network;
        var inputs = session.InputNames;
        if (inputs.Count != 1 || inputs[0] != ModelMetadata.InputName)
        {
            throw new InvalidDataException($"{file.Name} has inputs [{string.Join(", ", inputs)}] (ModelProto.graph.input); a DivideAssemble model takes one input '{ModelMetadata.InputName}'.");
        }

        Expect(file, "input", ModelMetadata.InputName, session.InputMetadata[ModelMetadata.InputName], net.ResolvedChannels, net.ImageSize, net.ImageSize);
        var expected = ExpectedOutputs(options);
        if (!outputs.SequenceEqual(expected))
        {
            throw new InvalidDataException($"{file.Name} has outputs [{string.Join(", ", outputs)}] (ModelProto.graph.output); a {net.Variant} model exports [{string.Join(", ", expected)}].");
        }

        foreach (string name in outputs)
        {
            long[] dims = name switch
            {
                ModelMetadata.MapsOutput => new long[] { net.ImageSize, net.ImageSize },
                ModelMetadata.ReconstructionsOutput => new long[] { net.ResolvedChannels, net.ImageSize, net.ImageSize },
                _ => Array.Empty<long>(),
            };
            Expect(file, "output", name, session.OutputMetadata[name], dims);
        }
    }

    private static void Expect(OnnxModelFile file, string kind, string name, NodeMetadata value, params long[] dims)
    {
        var actual = value.Dimensions;
        bool ok = value.ElementDataType == TensorElementType.Float && actual.Length == dims.Length + 1 && actual[0] < 0
            && dims.Select((d, i) => actual[i + 1] == d).All(b => b);
        if (!ok)
        {
            string shape = "[" + string.Join(", ", actual.Select((d, i) => d < 0 ? (value.SymbolicDimensions.ElementAtOrDefault(i) is { Length: > 0 } s ? s : "?") : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
            string want = "[N" + string.Concat(dims.Select(d => $", {d}")) + "]";
            throw new InvalidDataException($"{file.Name} declares its {kind} '{name}' as {TypeName(value.ElementDataType)} {shape}; the model's options (metadata '{ModelMetadata.OptionsKey}') make it float32 {want}.");
        }
    }

    private static string TypeName(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float32",
        TensorElementType.Double => "float64",
        TensorElementType.Float16 => "float16",
        TensorElementType.Int64 => "int64",
        TensorElementType.Int32 => "int32",
        TensorElementType.UInt8 => "uint8",
        _ => type.ToString().ToLowerInvariant(),
    };
}
