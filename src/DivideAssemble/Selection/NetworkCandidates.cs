using System.Globalization;
using DivideAssemble.Scoring;

namespace DivideAssemble.Selection;

/// <summary>The network settings selection trains: block divisions around the size-derived default, then memory temperatures.</summary>
internal static class NetworkCandidates
{
    /// <summary>The divisions tried by default: the size-derived r, r/2, 2r and r/4 (those that fit the first scale and divide every scale they do not exceed).</summary>
    public static List<string> DefaultDivisions(NetworkOptions network)
    {
        int r = network.DefaultBlockRatio();
        int first = network.ImageSize / 2;
        var sizes = Enumerable.Range(1, network.Depth).Select(l => network.ImageSize >> l).ToArray();
        return new[] { r, r / 2, r * 2, r / 4 }
            .Where(x => x >= 1 && x <= first && sizes.All(size => size < x || size % x == 0))
            .Distinct()
            .Select(x => string.Create(CultureInfo.InvariantCulture, $"{x},{x},{network.ChannelRatio}"))
            .ToList();
    }

    /// <summary>The temperatures tried around the configured one by default: half and three times it, within the allowed range.</summary>
    public static List<double> Temperatures(NetworkOptions network, SelectionOptions selection) =>
        (selection.Temperatures?.ToList() ?? new List<double> { network.MemoryTemperature / 2, network.MemoryTemperature * 3 })
            .Where(t => t is >= NetworkOptions.MinTemperature and <= NetworkOptions.MaxTemperature)
            .ToList();

    /// <summary>The options of one network candidate.</summary>
    /// <exception cref="ArgumentException">The division is not a division, or does not fit the network.</exception>
    public static DaadOptions Options(DaadOptions options, string division, double temperature, int epochs)
    {
        var o = options.Clone();
        o.Training.Epochs = epochs;
        o.Network.MemoryTemperature = temperature;
        try
        {
            o.Network.SetDivision(division);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"SelectionOptions.Divisions: {ex.Message}", nameof(division), ex);
        }

        var errors = ScoringRules.Collect(o);
        if (errors.Count > 0)
        {
            throw new ArgumentException($"SelectionOptions.Divisions: '{division}' does not fit this network: {string.Join(" ", errors)}", nameof(division));
        }

        return o;
    }

    /// <summary>The name of a network candidate in the state file and the log.</summary>
    public static string Name(string division, double temperature) => string.Create(CultureInfo.InvariantCulture, $"division {division}, T {temperature:G3}");
}
