using DivideAssemble.Hosting;
using DivideAssemble.Onnx;

namespace DivideAssemble.Cli;

/// <summary>A loaded model: the scorer every command uses, whichever backend read the file.</summary>
internal sealed class LoadedModel : IDisposable
{
    public LoadedModel(IAnomalyScorer scorer, string summary)
    {
        Scorer = scorer;
        Summary = summary;
    }

    public IAnomalyScorer Scorer { get; }

    /// <summary>Gets the model's description, printed the same way for every backend.</summary>
    public string Summary { get; }

    public void Dispose() => Scorer.Dispose();
}

/// <summary>Loads a model file with the backend that its content names (<c>.daad</c>: TorchSharp, <c>.onnx</c>: ONNX Runtime).</summary>
internal static class Models
{
    public static IReadOnlyList<IAnomalyScorerBackend> Backends { get; } = new IAnomalyScorerBackend[] { new TorchSharpBackend(), new OnnxRuntimeBackend() };

    public static LoadedModel Load(string path, string? device)
    {
        var scorer = ModelFiles.Load(path, Backends, new AnomalyScorerOptions { ModelPath = path, Device = device });
        string summary = scorer switch
        {
            AnomalyDetector d => d.Summary(),
            OnnxAnomalyScorer o => o.Summary(),
            _ => ModelSummary.Describe(scorer.Options, 0, 0, scorer.Calibration),
        };
        return new LoadedModel(scorer, summary);
    }
}
