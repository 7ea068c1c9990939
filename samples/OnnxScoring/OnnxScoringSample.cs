using System.Globalization;
using DivideAssemble.Hosting;
using DivideAssemble.Imaging;

namespace DivideAssemble.Samples.OnnxScoring;

/// <summary>Scores every image of a folder with a trained model and prints one line per image, then a count.</summary>
public static class OnnxScoringSample
{
    /// <summary>The backends this build carries: ONNX Runtime by default, TorchSharp with <c>-p:ScoringBackend=TorchSharp</c>.</summary>
    public static IReadOnlyList<IAnomalyScorerBackend> Backends { get; } = new IAnomalyScorerBackend[]
    {
#if TORCHSHARP_BACKEND
        new TorchSharpBackend(),
#else
        new DivideAssemble.Hosting.OnnxRuntimeBackend(),
#endif
    };

    /// <summary>Runs the sample: <c>&lt;model&gt; &lt;folder&gt; [--device cpu|cuda] [--threads n]</c>.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        if (args.Length < 2)
        {
            output.WriteLine("usage: OnnxScoring <model.onnx> <image folder> [--device cpu|cuda] [--threads n]");
            return 2;
        }

        string Option(string name, string fallback)
        {
            int i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var options = new AnomalyScorerOptions
        {
            ModelPath = args[0],
            Device = Option("device", "cpu"),
            IntraOpThreads = int.Parse(Option("threads", "0"), CultureInfo.InvariantCulture),
        };
        using var scorer = ModelFiles.Load(args[0], Backends, options);
        output.WriteLine($"{Path.GetFileName(args[0])}: {scorer.Options.Network.Variant}, {scorer.Channels}×{scorer.ImageSize}×{scorer.ImageSize}, threshold {scorer.Calibration?.Threshold:G5}, backend {string.Join(", ", Backends.Select(b => b.Name))}");
        int anomalous = 0, total = 0;
        foreach (var (path, result) in scorer.ScoreFolder(args[1], recursive: true))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}\t{result.Score:F4}\t{(result.IsAnomalous ? "anomalous" : "normal")}\t{result.Regions.Count} regions"));
            anomalous += result.IsAnomalous ? 1 : 0;
            total++;
        }

        output.WriteLine($"{anomalous} of {total} images anomalous");
        return 0;
    }
}
