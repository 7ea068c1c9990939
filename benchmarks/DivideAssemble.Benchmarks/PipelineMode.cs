using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Benchmarks;

/// <summary>
/// <c>--pipeline</c>: per variant and size, the median training step and scoring batch (8 images),
/// scoring throughput, the peak resident set of the process while that case runs (Linux VmHWM after
/// a reset), and the resident set before and after 30 more iterations (no growth expected).
/// </summary>
internal static class PipelineMode
{
    public static void Run(TextWriter output, int[] sizes)
    {
        torch.set_num_threads(Environment.ProcessorCount);
        output.WriteLine(FormattableString.Invariant($"pipeline benchmark: {Environment.ProcessorCount} cores, batch {Shapes.Batch}, library default options (width 32, depth 4, division 8,8,1, N = 500)"));
        output.WriteLine("| variant | size | training step ms | scoring batch ms | scoring images/s | peak RSS MB | RSS after warm-up → after 30 more steps MB |");
        output.WriteLine("|---|---|---|---|---|---|---|");
        foreach (int size in sizes)
        {
            foreach (var variant in new[] { ModelVariant.AutoencoderSkip, ModelVariant.MemAE, ModelVariant.Daad })
            {
                GC.Collect();
                bool reset = Pipeline.ResetPeakRss();
                using var detector = Pipeline.Build(variant, size);
                using var optimizer = optim.Adam(detector.Generator.parameters(), 1e-4);
                using var images = (rand(Shapes.Batch, 3, size, size) * 2) - 1;
                Pipeline.Calibrate(detector, images);
                Pipeline.TrainingStep(detector, optimizer, images);
                Pipeline.Score(detector, images);
                double before = Pipeline.RssMegabytes();
                var train = new List<double>();
                var score = new List<double>();
                int repeats = size >= 256 ? 3 : 5;
                for (int i = 0; i < repeats; i++)
                {
                    train.Add(Timing.Milliseconds(() => Pipeline.TrainingStep(detector, optimizer, images)));
                    score.Add(Timing.Milliseconds(() => Pipeline.Score(detector, images)));
                }

                int soak = size >= 256 ? 10 : 30;
                for (int i = 0; i < soak; i++)
                {
                    Pipeline.TrainingStep(detector, optimizer, images);
                    Pipeline.Score(detector, images);
                }

                double after = Pipeline.RssMegabytes();
                double peak = Pipeline.PeakRssMegabytes();
                double scoreMs = Timing.Median(score);
                output.WriteLine(FormattableString.Invariant(
                    $"| {variant} | {size} | {Timing.Median(train):F0} | {scoreMs:F0} | {Shapes.Batch * 1000 / scoreMs:F1} | {peak:F0}{(reset ? string.Empty : " (process peak)")} | {before:F0} → {after:F0} ({soak + repeats} steps) |"));
            }
        }
    }

}
