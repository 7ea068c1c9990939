using DivideAssemble.Graph;
using static TorchSharp.torch;

namespace DivideAssemble.Scoring;

/// <summary>
/// One way of turning an image and its reconstruction into the residual map <c>[B, S, S]</c> that pooling
/// and smoothing start from: its filter scales, whether calibration measures a normaliser per scale, how
/// TorchSharp computes it and how the ONNX export computes it. A new kind is a subclass in its own file
/// plus one line in <see cref="ScoringMethods"/>.
/// </summary>
internal abstract class ResidualMethod
{
    /// <summary>Gets the name options, model files and reports store.</summary>
    public abstract ResidualKind Name { get; }

    /// <summary>Gets a value indicating whether each scale's map is divided by a normaliser that calibration measures on normal pixels (<see cref="ScoreCalibration.ResidualNormalisers"/>).</summary>
    public virtual bool NormalisesScales => false;

    /// <summary>The standard deviations of the residual filters for an image side <paramref name="imageSize"/>, one per scale.</summary>
    public abstract IReadOnlyList<double> Sigmas(ScoringOptions scoring, int imageSize);

    /// <summary>
    /// The residual map of images <c>[B, C, S, S]</c> and reconstructions: each scale's channel-mean squared
    /// low-passed residual, divided by its normaliser when the kind has them (1 when
    /// <paramref name="normalisers"/> is null, as before calibration), the largest kept per pixel.
    /// </summary>
    public Tensor Map(Tensor images, Tensor reconstructions, ScoringOptions scoring, IReadOnlyList<double>? normalisers)
    {
        var sigmas = Sigmas(scoring, (int)images.shape[^1]);
        normalisers = NormalisesScales ? normalisers : null;
        if (sigmas.Count == 1 && normalisers is null)
        {
            return AnomalyMaps.SquaredError(images, reconstructions, sigmas[0]);
        }

        using var scope = NewDisposeScope();
        var maps = AnomalyMaps.ScaleMaps(images, reconstructions, sigmas);
        Tensor? result = null;
        for (int k = 0; k < maps.Length; k++)
        {
            var scaled = normalisers is null ? maps[k] : Torch.ScalarMath.Div(maps[k], normalisers[k]);
            result = result is null ? scaled : maximum(result, scaled);
        }

        return result!.MoveToOuterDisposeScope();
    }

    /// <summary>Adds the same map to an ONNX graph from the residual <c>x − x̂</c> <c>[N, C, S, S]</c>; returns its <c>[N, S, S]</c> output.</summary>
    public string Map(OnnxGraph graph, string residual, ScoringOptions scoring, int channels, int size, IReadOnlyList<double>? normalisers)
    {
        var sigmas = Sigmas(scoring, size);
        string first = AnomalyMapGraph.ScaleMap(graph, residual, sigmas[0], channels, size);
        if (!NormalisesScales)
        {
            return sigmas.Count == 1 ? first : graph.Node("Max", sigmas.Select((sigma, k) => k == 0 ? first : AnomalyMapGraph.ScaleMap(graph, residual, sigma, channels, size)).ToArray());
        }

        if (normalisers is null || normalisers.Count != sigmas.Count)
        {
            throw new InvalidOperationException($"The {Name} residual needs the calibration's {sigmas.Count} normalisers.");
        }

        var scaled = sigmas.Select((sigma, k) => graph.Node("Div", new[]
        {
            k == 0 ? first : AnomalyMapGraph.ScaleMap(graph, residual, sigma, channels, size),
            graph.Scalar($"residual_normaliser_{k}", (float)normalisers[k]),
        })).ToArray();
        return graph.Node("Max", scaled);
    }

    /// <summary>The scoring options selection uses when it tries this kind on <paramref name="scoring"/> (a kind may need a setting changed).</summary>
    public virtual ScoringOptions ForSelection(ScoringOptions scoring) => scoring;

    /// <summary>Returns problems of <paramref name="scoring"/> that only this kind has (each "Scoring.Property: reason").</summary>
    public virtual IEnumerable<string> Validate(ScoringOptions scoring) => Array.Empty<string>();
}
