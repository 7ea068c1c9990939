using System.Globalization;
using DivideAssemble.Imaging;

namespace DivideAssemble.Cli.Commands;

/// <summary><c>daad eval</c>: evaluates a model on a data set's test (or validation) split, writing the report and pictures; scoring options may be changed first.</summary>
internal sealed class EvalCommand : ICommand
{
    public string Name => "eval";

    public int Run(Arguments a, TextWriter stdout, TextWriter stderr)
    {
        string modelPath = a.Required("model");
        string reportPath = a.Required("report");
        string? pictures = a.Optional("pictures");
        int panels = a.Int("panels", 0, 1000) ?? 6;
        string? device = a.Optional("device");
        var methods = Scoring.ScoringMethods.Current;
        var pooling = a.Choice("pooling", methods.PoolingWords().ToDictionary(w => w, w => (ImageScorePooling?)methods.FindPooling(w)!.Name, StringComparer.Ordinal), null);
        double? sigma = a.Double("smoothing");
        double? residualSigma = a.Double("residual-smoothing");
        double? memoryWeight = a.Double("memory-weight");
        double? headWeight = a.Double("head-weight");
        bool? flipAveraging = a.Choice("flip-averaging", new Dictionary<string, bool?>(StringComparer.Ordinal) { ["on"] = true, ["off"] = false }, null);
        var data = SharedArguments.LoadData(a);
        SharedArguments.ApplyThreads(a);
        a.RejectUnknown();

        using var model = Models.Load(modelPath, device);
        if (pooling is not null || sigma is not null || residualSigma is not null || memoryWeight is not null || headWeight is not null || flipAveraging is not null)
        {
            // New scoring options change R(x): re-measure the calibration on the normal images training held back.
            var detector = model.Scorer as AnomalyDetector
                ?? throw new UsageException($"--pooling, --smoothing, --residual-smoothing, --memory-weight, --head-weight and --flip-averaging change the scoring graph baked into the exported model '{modelPath}'; evaluate the .daad model with them, or export again after changing them");
            var scoring = detector.Options.Scoring;
            scoring.Pooling = pooling ?? scoring.Pooling;
            scoring.SmoothingSigma = sigma ?? scoring.SmoothingSigma;
            scoring.ResidualSigma = residualSigma ?? scoring.ResidualSigma;
            scoring.MemoryWeight = memoryWeight ?? scoring.MemoryWeight;
            scoring.HeadWeight = headWeight ?? scoring.HeadWeight;
            scoring.FlipAveraging = flipAveraging ?? scoring.FlipAveraging;
            var heldOut = detector.HeldOutIndices(data.Train.Count);
            detector.ChangeScoring(scoring, ImageSources.Subset(data.Train, heldOut.Count > 0 ? heldOut : Enumerable.Range(0, data.Train.Count).ToList()));
        }

        var report = EvaluationCommand.Run(model.Scorer, data, reportPath, pictures, panels, stdout);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"image AUROC: {report.ImageAuroc:F3}"));
        return 0;
    }
}
