using DivideAssemble.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Scoring;

/// <summary>Builds per-pixel anomaly maps: squared residuals, low-passed at one or several scales, and their smoothing.</summary>
internal static class AnomalyMaps
{
    /// <summary>
    /// Channel-mean squared error <c>[B, S, S]</c> between images and reconstructions; with
    /// <paramref name="residualSigma"/> &gt; 0 the signed residual is Gaussian-smoothed first.
    /// </summary>
    public static Tensor SquaredError(Tensor images, Tensor reconstructions, double residualSigma = 0)
    {
        var residual = images - reconstructions;
        if (residualSigma > 0)
        {
            long b = residual.shape[0], c = residual.shape[1];
            residual = Smooth(residual.flatten(0, 1), residualSigma).reshape(b, c, residual.shape[2], residual.shape[3]);
        }

        return ScalarMath.Square(residual).mean(new long[] { 1 });
    }

    /// <summary>Each scale's channel-mean squared low-passed residual <c>[B, S, S]</c>, unnormalised.</summary>
    public static Tensor[] ScaleMaps(Tensor images, Tensor reconstructions, IReadOnlyList<double> sigmas)
    {
        var residual = images - reconstructions;
        long b = residual.shape[0], c = residual.shape[1];
        var planes = residual.flatten(0, 1);
        return sigmas.Select(sigma => ScalarMath.Square(Smooth(planes, sigma).reshape(b, c, residual.shape[2], residual.shape[3])).mean(new long[] { 1 })).ToArray();
    }

    /// <summary>Gaussian smoothing of maps <c>[B, S, S]</c> (separable, reflect padding); σ = 0 returns the input.</summary>
    public static Tensor Smooth(Tensor maps, double sigma)
    {
        if (sigma <= 0)
        {
            return maps;
        }

        var (k, radius) = GaussianKernel(sigma, maps.shape[^1]);
        using var scope = NewDisposeScope();
        var kernel = tensor(k, device: maps.device);
        var x = maps.unsqueeze(1);
        x = nn.functional.pad(x, new long[] { radius, radius, radius, radius }, PaddingModes.Reflect);
        x = nn.functional.conv2d(x, kernel.reshape(1, 1, 1, -1));
        x = nn.functional.conv2d(x, kernel.reshape(1, 1, -1, 1));
        return x.squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The normalised 1-d Gaussian of <paramref name="sigma"/> pixels, truncated at 3σ (at least 1 and at
    /// most <paramref name="size"/> − 1 pixels, so reflect padding stays inside the image); the export
    /// writes the same kernel into the ONNX graph.
    /// </summary>
    public static (float[] Kernel, int Radius) GaussianKernel(double sigma, long size)
    {
        int radius = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        radius = (int)Math.Min(radius, size - 1);
        var k = new float[(2 * radius) + 1];
        double total = 0;
        for (int i = -radius; i <= radius; i++)
        {
            k[i + radius] = (float)Math.Exp(-(i * i) / (2 * sigma * sigma));
            total += k[i + radius];
        }

        for (int i = 0; i < k.Length; i++)
        {
            k[i] = (float)(k[i] / total);
        }

        return (k, radius);
    }
}
