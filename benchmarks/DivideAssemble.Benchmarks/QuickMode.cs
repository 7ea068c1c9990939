using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Benchmarks;

/// <summary>
/// A two-minute check of the goals: <see cref="BlockMemory"/> against its floor at every scale of the
/// default 256×256 model (division 8,8,1, N = 500, batch 8), and a DAAD training step against AE+Skip's.
/// Every figure is a ratio of a module run and a floor run made back to back (their order alternating
/// pair by pair), after warming up until the ratios settle; each row gives the median of the paired
/// ratios and their spread. The last line is the hot-path ratio: the median paired ratio at scale 1,
/// forward and backward.
/// </summary>
internal static class QuickMode
{
    public static void Run(TextWriter output)
    {
        torch.set_num_threads(Environment.ProcessorCount);
        output.WriteLine(FormattableString.Invariant($"quick benchmark: {RuntimeInformationText()}, batch {Shapes.Batch}, N = 500, division 8,8,1"));
        output.WriteLine($"threads: {ThreadSettings.Describe()}");
        output.WriteLine("| case | module ms | floor ms | ratio (median of pairs) | ratio p25–p75 | ratio min–max | pairs (+ warm-up) |");
        output.WriteLine("|---|---|---|---|---|---|---|");
        double hotPath = double.NaN;
        for (int scale = 1; scale <= 4; scale++)
        {
            var (blocks, d) = Shapes.Blocks(scale, 8);
            using var memory = new BlockMemory(500, d);
            using var queries = nn.functional.normalize(blocks.reshape(-1, d), dim: 1).detach().requires_grad_(true);
            using var items = nn.functional.normalize(memory.Items.detach(), dim: 1).detach().requires_grad_(true);
            blocks.requires_grad_(true);
            var (c, s) = Shapes.Scale(scale);
            foreach (bool backward in new[] { true, false })
            {
                var pairs = Paired(() => HotPath.ModuleStep(memory, blocks, backward), () => HotPath.FloorStep(queries, items, backward), scale == 1 ? 21 : 11);
                Row(output, FormattableString.Invariant($"scale {scale} ({c}×{s}×{s}, D={d}) {(backward ? "fwd+bwd" : "fwd")}"), pairs);
                if (scale == 1 && backward)
                {
                    hotPath = Timing.Median(pairs.Ratios);
                    memory.FusedBackward = false;
                    var autograd = Paired(() => HotPath.ModuleStep(memory, blocks, backward), () => HotPath.FloorStep(queries, items, backward), 11);
                    memory.FusedBackward = null;
                    Row(output, "scale 1 fwd+bwd, backward by autograd op by op (the previous implementation)", autograd);
                }
            }

            blocks.Dispose();
        }

        foreach (int width in new[] { 32, 64 })
        {
            using var ae = new Pipeline.Model(ModelVariant.AutoencoderSkip, 256, width);
            using var daad = new Pipeline.Model(ModelVariant.Daad, 256, width);
            var pairs = Paired(daad.TrainingStep, ae.TrainingStep, 7, maxWarmUp: 6);
            Row(output, $"training step 256×256, width {width} ({(width == 32 ? "library default" : "paper")}): DAAD (module) vs AE+Skip (floor)", pairs);
        }

        output.WriteLine(FormattableString.Invariant($"hot-path ratio: {hotPath:F2}"));
    }

    /// <summary>Module and floor run back to back, the order alternating; warm-up until the last three ratios lie within 5 % of their median.</summary>
    private static Pairs Paired(Action module, Action floor, int pairs, int maxWarmUp = 15)
    {
        var warm = new List<double>();
        int warmUp = 0;
        while (warmUp < maxWarmUp)
        {
            warm.Add(Pair(module, floor, warmUp).Ratio);
            warmUp++;
            if (warmUp >= 3 && Settled(warm.TakeLast(3).ToList(), 0.05))
            {
                break;
            }
        }

        var m = new double[pairs];
        var f = new double[pairs];
        var r = new double[pairs];
        for (int i = 0; i < pairs; i++)
        {
            var (mi, fi, ri) = Pair(module, floor, i);
            (m[i], f[i], r[i]) = (mi, fi, ri);
        }

        return new Pairs(m, f, r, warmUp);
    }

    private static (double Module, double Floor, double Ratio) Pair(Action module, Action floor, int index)
    {
        double m, f;
        if (index % 2 == 0)
        {
            m = Timing.Milliseconds(module);
            f = Timing.Milliseconds(floor);
        }
        else
        {
            f = Timing.Milliseconds(floor);
            m = Timing.Milliseconds(module);
        }

        return (m, f, m / f);
    }

    private static bool Settled(List<double> last, double within)
    {
        double median = Timing.Median(last);
        return last.All(v => Math.Abs(v - median) <= within * median);
    }

    private static void Row(TextWriter output, string name, Pairs p) => output.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {Timing.Median(p.Module):F2} | {Timing.Median(p.Floor):F2} | {Timing.Median(p.Ratios):F2} | {Timing.Percentile(p.Ratios, 0.25):F2}–{Timing.Percentile(p.Ratios, 0.75):F2} | {p.Ratios.Min():F2}–{p.Ratios.Max():F2} | {p.Ratios.Length} (+{p.WarmUp}) |"));

    private static string RuntimeInformationText() =>
        System.Runtime.InteropServices.RuntimeInformation.OSDescription + ", " + System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

    private sealed record Pairs(double[] Module, double[] Floor, double[] Ratios, int WarmUp);
}
