using System.Diagnostics;

namespace DivideAssemble.Benchmarks;

/// <summary>Wall-clock helpers for the quick and pipeline modes.</summary>
internal static class Timing
{
    public static double Milliseconds(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalMilliseconds;
    }

    public static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
