using DivideAssemble.Graph;
using static TorchSharp.torch;

namespace DivideAssemble.Scoring;

/// <summary>
/// One way of pooling an anomaly map into the reconstruction score R(x): how TorchSharp computes it, how
/// the ONNX export computes it, and which settings model selection tries. A new pooling is a subclass in
/// its own file plus one line in <see cref="ScoringMethods"/> (docs/architecture.md shows one).
/// </summary>
internal abstract class PoolingMethod
{
    /// <summary>Gets the name options, model files and reports store.</summary>
    public abstract ImageScorePooling Name { get; }

    /// <summary>Gets other names the command line accepts (for example <c>top</c>).</summary>
    public virtual IReadOnlyList<string> Aliases => Array.Empty<string>();

    /// <summary>Pools maps <c>[B, S, S]</c> into one score per image <c>[B]</c>.</summary>
    /// <param name="raw">The residual map before smoothing.</param>
    /// <param name="smoothed">The anomaly map (smoothed), as results carry it.</param>
    /// <param name="scoring">The scoring options.</param>
    public abstract Tensor Pool(Tensor raw, Tensor smoothed, ScoringOptions scoring);

    /// <summary>Adds the same pooling to an ONNX graph; returns the name of its <c>[N]</c> output.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="raw">The residual map before smoothing, <c>[N, S, S]</c>.</param>
    /// <param name="smoothed">The anomaly map, <c>[N, S, S]</c>.</param>
    /// <param name="size">The map side S.</param>
    /// <param name="scoring">The scoring options.</param>
    public abstract string Pool(OnnxGraph graph, string raw, string smoothed, int size, ScoringOptions scoring);

    /// <summary>The top fractions selection tries with this pooling (<see langword="null"/>: the pooling has none).</summary>
    public virtual IReadOnlyList<double?> SelectionFractions(SelectionOptions selection) => new double?[] { null };

    /// <summary>Returns problems of <paramref name="scoring"/> that only this pooling has (each "Scoring.Property: reason").</summary>
    public virtual IEnumerable<string> Validate(ScoringOptions scoring) => Array.Empty<string>();
}
