using System.Globalization;
using DivideAssemble.Imaging;
using DivideAssemble.Evaluation;

namespace DivideAssemble.Samples;

/// <summary>The MvtecTraining sample: the paper's recipe on an MVTec-AD category folder.</summary>
internal static class MvtecTraining
{
    public static int Run(string[] args, TextWriter output)
    {
        if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
        {
            output.WriteLine("usage: MvtecTraining <category folder> [--device cpu|cuda] [--epochs N] [--image-size S] [--width W] [--out model.daad] [--checkpoint run.ckpt]");
            return 2;
        }

        string category = args[0];
        string Option(string name, string fallback)
        {
            int i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        var data = Datasets.Mvtec(category);
        output.WriteLine(data.Description);

        // The paper's recipe: DAAD+, 256×256, width 64 capped at 512, division 8,8,1, N = 500,
        // Adam(2e-4, 0.9, 0.999), batch 8, 1000 epochs, λ = 50/0.5/0.5, γ = 0.9, flips.
        var options = DaadOptions.Paper;
        options.Device = Option("device", "cpu");
        options.Training.Epochs = int.Parse(Option("epochs", "1000"), CultureInfo.InvariantCulture);
        options.Network.ImageSize = int.Parse(Option("image-size", "256"), CultureInfo.InvariantCulture);
        options.Network.BaseWidth = int.Parse(Option("width", "64"), CultureInfo.InvariantCulture);
        options.Network.DiscriminatorBaseWidth = options.Network.BaseWidth;
        options.Training.CheckpointEvery = Math.Max(1, Math.Min(50, options.Training.Epochs));
        var firstImage = ImageDecoder.Decode(((FileImageSource)data.Train).Paths[0]);
        options.Network.Channels = firstImage.IsGrey ? 1 : 3;
        string modelPath = Option("out", Path.GetFileName(Path.GetFullPath(category).TrimEnd(Path.DirectorySeparatorChar)) + ".daad");
        string checkpoint = Option("checkpoint", modelPath + ".ckpt");

        using var detector = DaadBuilder.Create(options).Build();
        output.WriteLine(detector.Summary());
        var summary = detector.FitWithCheckpoints(data.Train, checkpoint, new Progress<TrainingProgress>(p =>
        {
            if (p.EndOfEpoch)
            {
                output.WriteLine(FormattableString.Invariant($"epoch {p.Epoch}/{p.Epochs}: loss {p.Loss:F4}, L_rec {p.ReconstructionLoss:F5}, L_D {p.DiscriminatorLoss:F3}, {p.ImagesPerSecond:F1} images/s, ETA {p.EstimatedRemaining:g}"));
            }
        }));
        detector.Save(modelPath);
        File.Delete(checkpoint);
        output.WriteLine(FormattableString.Invariant($"trained {summary.EpochsCompleted} epochs in {summary.Duration:g}; model written to {modelPath}"));

        var report = Evaluator.Evaluate(detector, data.Test, data.Description);
        string reportPath = Path.ChangeExtension(modelPath, ".report.json");
        report.Save(reportPath);
        output.WriteLine(FormattableString.Invariant($"image AUROC: {report.ImageAuroc:F3}, pixel AUROC: {report.PixelAuroc:F3}, AUPRO: {report.Aupro:F3}; report written to {reportPath}"));
        return 0;
    }
}
