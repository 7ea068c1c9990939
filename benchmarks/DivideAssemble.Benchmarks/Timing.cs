using System.Diagnostics;
using System.Globalization;

namespace DivideAssemble.Benchmarks;

/// <summary>Wall-clock measurement shared by the quick and pipeline modes: warm-up until settled, interleaved rounds, medians and spreads.</summary>
internal static class Timing
{
    public static double Milliseconds(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalMilliseconds;
    }

    public static double Median(IReadOnlyList<double> values) => Percentile(values, 0.5);

    /// <summary>The q-quantile by linear interpolation.</summary>
    public static double Percentile(IReadOnlyList<double> values, double q)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
    }

    /// <summary>"median [p25–p75]" of <paramref name="values"/>.</summary>
    public static string Spread(IReadOnlyList<double> values, string format = "F1") =>
        string.Create(CultureInfo.InvariantCulture, $"{Median(values).ToString(format, CultureInfo.InvariantCulture)} [{Percentile(values, 0.25).ToString(format, CultureInfo.InvariantCulture)}–{Percentile(values, 0.75).ToString(format, CultureInfo.InvariantCulture)}]");

    /// <summary>
    /// Runs every case once per round, in the same order, until each case's last three warm-up times lie
    /// within <paramref name="settledWithin"/> of their median (at most <paramref name="maxWarmUp"/> rounds),
    /// then <paramref name="rounds"/> measured rounds; returns each case's times and the warm-up rounds used.
    /// </summary>
    public static (double[][] Times, int WarmUpRounds) Interleaved(IReadOnlyList<Action> cases, int rounds, double settledWithin = 0.1, int minWarmUp = 2, int maxWarmUp = 12)
    {
        var warm = cases.Select(_ => new List<double>()).ToArray();
        int warmUp = 0;
        while (warmUp < maxWarmUp)
        {
            for (int c = 0; c < cases.Count; c++)
            {
                warm[c].Add(Milliseconds(cases[c]));
            }

            warmUp++;
            if (warmUp >= Math.Max(minWarmUp, 3) && warm.All(w => Settled(w.TakeLast(3).ToList(), settledWithin)))
            {
                break;
            }
        }

        var times = cases.Select(_ => new double[rounds]).ToArray();
        for (int r = 0; r < rounds; r++)
        {
            for (int c = 0; c < cases.Count; c++)
            {
                times[c][r] = Milliseconds(cases[c]);
            }
        }

        return (times, warmUp);
    }

    private static bool Settled(List<double> last, double within)
    {
        double median = Median(last);
        return last.All(v => Math.Abs(v - median) <= within * median);
    }
}
