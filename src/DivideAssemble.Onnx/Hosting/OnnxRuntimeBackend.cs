using DivideAssemble.Onnx;

namespace DivideAssemble.Hosting;

/// <summary>Loads exported ONNX models (<c>.onnx</c>) as <see cref="OnnxAnomalyScorer"/>s on ONNX Runtime.</summary>
public sealed class OnnxRuntimeBackend : IAnomalyScorerBackend
{
    /// <inheritdoc />
    public string Name => "ONNX Runtime";

    /// <inheritdoc />
    public bool Recognizes(ReadOnlySpan<byte> head) => ModelFiles.IsOnnxModel(head);

    /// <inheritdoc />
    public IAnomalyScorer Load(string path, AnomalyScorerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return OnnxAnomalyScorer.Load(path, options.Device, options.IntraOpThreads);
    }
}

/// <summary>Adds the ONNX Runtime backend to a DivideAssemble registration.</summary>
public static class OnnxRuntimeBuilderExtensions
{
    /// <summary>Lets the registered <see cref="IAnomalyScorer"/> load exported <c>.onnx</c> models on ONNX Runtime.</summary>
    public static DivideAssembleBuilder AddOnnxRuntime(this DivideAssembleBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddBackend(new OnnxRuntimeBackend());
    }
}
