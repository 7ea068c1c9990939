using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>
/// A tiny synthetic inspection problem: normal images are a striped texture with random phase
/// and noise; anomalous ones have a defect painted in (a bright or dark patch, or a scratch).
/// </summary>
internal static class Synthetic
{
    public static Tensor Textures(int count, int size, int seed, bool anomalous, int channels = 1)
    {
        var rng = new Random(seed);
        var data = new float[count * channels * size * size];
        for (int n = 0; n < count; n++)
        {
            double phase = rng.NextDouble() * 2 * Math.PI;
            double phase2 = rng.NextDouble() * 2 * Math.PI;
            var img = new float[size * size];
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++)
                {
                    double v = (0.5 * Math.Sin((2 * Math.PI * (x + y) / 8.0) + phase)) + (0.2 * Math.Sin((2 * Math.PI * y / 5.0) + phase2));
                    v += 0.08 * ((rng.NextDouble() * 2) - 1);
                    img[(y * size) + x] = (float)v;
                }
            }

            if (anomalous)
            {
                int kind = rng.Next(3);
                int s = Math.Max(3, size / 5);
                int cx = rng.Next(s, size - s), cy = rng.Next(s, size - s);
                for (int y = 0; y < size; y++)
                {
                    for (int x = 0; x < size; x++)
                    {
                        bool inside = kind switch
                        {
                            0 => Math.Abs(x - cx) <= s / 2 && Math.Abs(y - cy) <= s / 2,
                            1 => ((x - cx) * (x - cx)) + ((y - cy) * (y - cy)) <= s * s / 4,
                            _ => Math.Abs((x - cx) - (y - cy)) <= 1 && Math.Abs(x - cx) <= s,
                        };
                        if (inside)
                        {
                            img[(y * size) + x] = kind == 1 ? -0.9f : 0.9f;
                        }
                    }
                }
            }

            for (int c = 0; c < channels; c++)
            {
                Array.Copy(img, 0, data, ((n * channels) + c) * size * size, size * size);
            }
        }

        return tensor(data, new long[] { count, channels, size, size }).clamp(-1, 1);
    }
}
