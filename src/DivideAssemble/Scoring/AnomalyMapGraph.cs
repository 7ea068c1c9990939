using DivideAssemble.Graph;
using A = DivideAssemble.Graph.OnnxGraph.Attribute;

namespace DivideAssemble.Scoring;

/// <summary>The ONNX forms of <see cref="AnomalyMaps"/>: the same kernels and padding, so an exported graph computes the same maps.</summary>
internal static class AnomalyMapGraph
{
    /// <summary>One residual scale's map <c>[N, S, S]</c>: the channel mean of the squared low-passed residual, as <see cref="AnomalyMaps.ScaleMaps"/>.</summary>
    public static string ScaleMap(OnnxGraph graph, string residual, double sigma, int channels, int size)
    {
        string filtered = Smooth(graph, residual, sigma, channels, size);
        string squared = graph.Node("Mul", new[] { filtered, filtered });
        return graph.Reduce("ReduceMean", squared, 1);
    }

    /// <summary>Gaussian smoothing with reflect padding, separable, as <see cref="AnomalyMaps.Smooth"/>; <paramref name="channels"/> 0 means maps <c>[N, S, S]</c>.</summary>
    public static string Smooth(OnnxGraph graph, string input, double sigma, int channels, int size)
    {
        if (sigma <= 0)
        {
            return input;
        }

        var (kernel, radius) = AnomalyMaps.GaussianKernel(sigma, size);
        string planes = graph.Reshape(input, -1, 1, size, size);
        string padded = graph.Node("Pad", new[] { planes, graph.Int64s("pads", new long[] { 0, 0, radius, radius, 0, 0, radius, radius }, 8) }, A.String("mode", "reflect"));
        string horizontal = graph.Node("Conv", new[] { padded, graph.Initializer("gaussian_h", kernel, 1, 1, 1, kernel.Length) });
        string vertical = graph.Node("Conv", new[] { horizontal, graph.Initializer("gaussian_v", kernel, 1, 1, kernel.Length, 1) });
        return channels == 0 ? graph.Reshape(vertical, -1, size, size) : graph.Reshape(vertical, -1, channels, size, size);
    }
}
