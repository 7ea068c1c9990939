using System.Globalization;

namespace DivideAssemble.Cli.Commands;

/// <summary><c>daad soak</c>: trains and scores for a while and checks that resident memory stays flat (exit 1 when it grows more than allowed).</summary>
internal sealed class SoakCommand : ICommand
{
    public string Name => "soak";

    public int Run(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        var o = DaadOptions.Default;
        o.Network.Variant = a.Choice("model", SharedArguments.Variants, o.Network.Variant);
        o.Network.ImageSize = a.Int("image-size") ?? 64;
        o.Network.Channels = a.Int("channels") ?? 1;
        o.Network.BaseWidth = a.Int("width") ?? o.Network.BaseWidth;
        SharedArguments.ApplyThreads(a);
        string? folder = a.Optional("folder");
        int steps = a.Int("steps", 1, 10_000_000) ?? 300;
        int images = a.Int("images", 1, 100_000_000) ?? 2000;
        double maxGrowth = a.Double("max-growth", 0, 1000) ?? 5;
        a.RejectUnknown();
        Scoring.ScoringRules.ThrowIfInvalid(o);
        stdout.WriteLine($"soak: {o.Network.Variant} at {o.Network.ImageSize} px, width {o.Network.BaseWidth}; {steps} training steps and {images} images scored from PNG files after a warm-up of a tenth of each");
        var f = Soak.Run(o, folder, steps, images, stdout);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RSS after warm-up {f.WarmRssMb:F0} MB, after {f.Steps} steps and {f.Scored} images {f.FinalRssMb:F0} MB ({f.GrowthPercent:+0.0;-0.0} %), highest sample {f.PeakAfterWarmUpMb:F0} MB, {f.Seconds:F0} s"));
        bool flat = f.IsFlat(maxGrowth);
        stdout.WriteLine(flat ? $"memory is flat (growth under {maxGrowth} %)" : $"memory grew by more than {maxGrowth} %");
        return flat ? 0 : 1;
    }
}
