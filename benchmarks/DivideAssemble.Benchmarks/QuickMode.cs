using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Benchmarks;

/// <summary>
/// A two-minute check of the goals: BlockMemory over its floor at every scale of the default
/// 256×256 model (division 8,8,1, N = 500, batch 8), and a DAAD training step over AE+Skip's.
/// Each figure is the median of repeated, interleaved runs. The last line is the hot-path ratio.
/// </summary>
internal static class QuickMode
{
    private const int Repeats = 9;

    public static void Run(TextWriter output)
    {
        torch.set_num_threads(Environment.ProcessorCount);
        torch.manual_seed(0);
        output.WriteLine(FormattableString.Invariant($"quick benchmark: {Environment.ProcessorCount} cores, {RuntimeInformationText()}, batch {Shapes.Batch}, N = 500, division 8,8,1"));
        output.WriteLine("| case | module ms | floor ms | ratio |");
        output.WriteLine("|---|---|---|---|");
        double hotPath = double.NaN;
        for (int scale = 1; scale <= 4; scale++)
        {
            var (blocks, d) = Shapes.Blocks(scale, 8);
            using var memory = new BlockMemory(500, d);
            using var queries = nn.functional.normalize(blocks.reshape(-1, d), dim: 1).detach().requires_grad_(true);
            using var items = nn.functional.normalize(memory.Items.detach(), dim: 1).detach().requires_grad_(true);
            blocks.requires_grad_(true);
            foreach (bool backward in new[] { true, false })
            {
                var (module, floor) = Interleaved(() => HotPath.ModuleStep(memory, blocks, backward), () => HotPath.FloorStep(queries, items, backward));
                double ratio = module / floor;
                var (c, s) = Shapes.Scale(scale);
                output.WriteLine(FormattableString.Invariant($"| scale {scale} ({c}×{s}×{s}, D={d}) {(backward ? "fwd+bwd" : "fwd")} | {module:F2} | {floor:F2} | {ratio:F2} |"));
                if (scale == 1 && backward)
                {
                    hotPath = ratio;
                    memory.NormaliseCopies = true;
                    var (copies, floor2) = Interleaved(() => HotPath.ModuleStep(memory, blocks, backward), () => HotPath.FloorStep(queries, items, backward));
                    memory.NormaliseCopies = null;
                    output.WriteLine(FormattableString.Invariant($"| scale 1 fwd+bwd, cosine by normalised copies (alternative) | {copies:F2} | {floor2:F2} | {copies / floor2:F2} |"));
                }
            }

            blocks.Dispose();
        }

        foreach (int width in new[] { 32, 64 })
        {
            using var ae = Pipeline.Build(ModelVariant.AutoencoderSkip, 256, width);
            using var daad = Pipeline.Build(ModelVariant.Daad, 256, width);
            using var aeOpt = optim.Adam(ae.Generator.parameters(), 1e-4);
            using var daadOpt = optim.Adam(daad.Generator.parameters(), 1e-4);
            using var images = (rand(Shapes.Batch, 3, 256, 256) * 2) - 1;
            var (daadMs, aeMs) = Interleaved(() => Pipeline.TrainingStep(daad, daadOpt, images), () => Pipeline.TrainingStep(ae, aeOpt, images), repeats: 5);
            string label = width == 32 ? "library default" : "paper";
            output.WriteLine(FormattableString.Invariant($"| training step 256×256, width {width} ({label}): DAAD (module) vs AE+Skip (floor) | {daadMs:F0} | {aeMs:F0} | {daadMs / aeMs:F2} |"));
        }

        output.WriteLine(FormattableString.Invariant($"hot-path ratio: {hotPath:F2}"));
    }

    /// <summary>Runs two actions alternately (after a warm-up) and returns the median milliseconds of each.</summary>
    private static (double A, double B) Interleaved(Action a, Action b, int repeats = Repeats)
    {
        a();
        b();
        var ta = new List<double>();
        var tb = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            ta.Add(Timing.Milliseconds(a));
            tb.Add(Timing.Milliseconds(b));
        }

        return (Timing.Median(ta), Timing.Median(tb));
    }

    private static string RuntimeInformationText() =>
        System.Runtime.InteropServices.RuntimeInformation.OSDescription + ", " + System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;
}
