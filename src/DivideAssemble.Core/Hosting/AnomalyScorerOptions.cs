using System.ComponentModel.DataAnnotations;

namespace DivideAssemble.Hosting;

/// <summary>How a hosted application loads its trained model.</summary>
public sealed class AnomalyScorerOptions
{
    /// <summary>Gets or sets the path of the model file: a <c>.daad</c> model or an exported <c>.onnx</c> model (told apart by content).</summary>
    [Required(AllowEmptyStrings = false)]
    public string ModelPath { get; set; } = string.Empty;

    /// <summary>
    /// Gets or sets where the model runs: for the TorchSharp backend a device (<c>cpu</c>, <c>cuda</c>,
    /// <c>cuda:N</c>; <see langword="null"/> keeps the one saved in the file); for the ONNX Runtime
    /// backend an execution provider (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>, <c>dml</c>, <c>openvino</c>;
    /// <see langword="null"/> is the CPU).
    /// </summary>
    public string? Device { get; set; }

    /// <summary>
    /// Gets or sets ONNX Runtime's intra-op thread count for this model's session (0 leaves ONNX
    /// Runtime's default). The TorchSharp backend ignores it: libtorch's thread count is process-wide,
    /// for the application to set.
    /// </summary>
    [Range(0, 1024)]
    public int IntraOpThreads { get; set; }
}
