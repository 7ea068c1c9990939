namespace DivideAssemble.Hosting;

/// <summary>Loads DivideAssemble model files (<c>.daad</c>) as <see cref="AnomalyDetector"/>s on TorchSharp/libtorch.</summary>
public sealed class TorchSharpBackend : IAnomalyScorerBackend
{
    /// <inheritdoc />
    public string Name => "TorchSharp";

    /// <inheritdoc />
    public bool Recognizes(ReadOnlySpan<byte> head) => ModelFiles.IsDaadModel(head);

    /// <inheritdoc />
    public IAnomalyScorer Load(string path, AnomalyScorerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return AnomalyDetector.Load(path, options.Device, null);
    }
}

/// <summary>Adds the TorchSharp backend to a DivideAssemble registration.</summary>
public static class TorchSharpBuilderExtensions
{
    /// <summary>Lets the registered <see cref="IAnomalyScorer"/> load <c>.daad</c> model files on TorchSharp/libtorch.</summary>
    public static DivideAssembleBuilder AddTorchSharp(this DivideAssembleBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddBackend(new TorchSharpBackend());
    }
}
