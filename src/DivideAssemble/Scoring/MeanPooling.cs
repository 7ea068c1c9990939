using DivideAssemble.Graph;
using static TorchSharp.torch;

namespace DivideAssemble.Scoring;

/// <summary>The mean of the raw residual map over all pixels: the paper's R(x), a mean squared error.</summary>
internal sealed class MeanPooling : PoolingMethod
{
    public override ImageScorePooling Name => ImageScorePooling.Mean;

    public override Tensor Pool(Tensor raw, Tensor smoothed, ScoringOptions scoring) => raw.flatten(1).mean(new long[] { 1 });

    public override string Pool(OnnxGraph graph, string raw, string smoothed, int size, ScoringOptions scoring) => graph.Reduce("ReduceMean", raw, 1, 2);
}
