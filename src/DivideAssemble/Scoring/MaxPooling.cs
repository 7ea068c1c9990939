using DivideAssemble.Graph;
using static TorchSharp.torch;

namespace DivideAssemble.Scoring;

/// <summary>The maximum of the smoothed anomaly map: sensitive to small local defects.</summary>
internal sealed class MaxPooling : PoolingMethod
{
    public override ImageScorePooling Name => ImageScorePooling.Max;

    public override Tensor Pool(Tensor raw, Tensor smoothed, ScoringOptions scoring) => smoothed.flatten(1).amax(new long[] { 1 });

    public override string Pool(OnnxGraph graph, string raw, string smoothed, int size, ScoringOptions scoring) => graph.Reduce("ReduceMax", smoothed, 1, 2);
}
