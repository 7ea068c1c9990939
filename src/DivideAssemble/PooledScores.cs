using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>What <see cref="AnomalyDetector.ScorePoolings"/> returns: per scoring variant the raw R (and H) of every image, and L and M when the score uses them.</summary>
internal sealed class PooledScores
{
    public PooledScores(int variants, int images, bool alignment, bool memory, bool head)
    {
        Reconstruction = Enumerable.Range(0, variants).Select(_ => new double[images]).ToList();
        Head = head ? Enumerable.Range(0, variants).Select(_ => new double[images]).ToList() : null;
        Alignment = alignment ? new double[images] : null;
        Memory = memory ? new double[images] : null;
    }

    public IReadOnlyList<double[]> Reconstruction { get; }

    public IReadOnlyList<double[]>? Head { get; }

    public double[]? Alignment { get; }

    public double[]? Memory { get; }

    /// <summary>Copies a batch's values <c>[B]</c> into <paramref name="into"/> at the batch's image indices.</summary>
    public void Add(double[]? into, IReadOnlyList<int> indices, Tensor? values)
    {
        if (into is null || values is null)
        {
            return;
        }

        var data = values.to(float64).cpu().data<double>().ToArray();
        for (int k = 0; k < indices.Count; k++)
        {
            into[indices[k]] = data[k];
        }
    }
}
