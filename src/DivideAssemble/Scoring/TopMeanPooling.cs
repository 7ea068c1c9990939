using DivideAssemble.Graph;
using static TorchSharp.torch;
using A = DivideAssemble.Graph.OnnxGraph.Attribute;

namespace DivideAssemble.Scoring;

/// <summary>The mean of the highest <see cref="ScoringOptions.TopFraction"/> of the smoothed map's values (at least one value).</summary>
internal sealed class TopMeanPooling : PoolingMethod
{
    public override ImageScorePooling Name => ImageScorePooling.TopMean;

    public override IReadOnlyList<string> Aliases { get; } = new[] { "top" };

    /// <summary>The number of values averaged for a map of <paramref name="pixels"/> values.</summary>
    public static int TopCount(long pixels, double topFraction) => (int)Math.Max(1, (long)Math.Round(pixels * topFraction));

    public override Tensor Pool(Tensor raw, Tensor smoothed, ScoringOptions scoring)
    {
        var flat = smoothed.flatten(1);
        return flat.topk(TopCount(flat.shape[1], scoring.TopFraction), 1).values.mean(new long[] { 1 });
    }

    public override string Pool(OnnxGraph graph, string raw, string smoothed, int size, ScoringOptions scoring)
    {
        int k = TopCount((long)size * size, scoring.TopFraction);
        string flat = graph.Reshape(smoothed, 0, -1);
        string[] top = graph.Node("TopK", new[] { flat, graph.Int64s("k", new long[] { k }, 1) }, 2, A.Int("axis", 1), A.Int("largest", 1), A.Int("sorted", 1));
        return graph.Reduce("ReduceMean", top[0], 1);
    }

    public override IReadOnlyList<double?> SelectionFractions(SelectionOptions selection) => selection.TopFractions.Distinct().Select(f => (double?)f).ToList();
}
