using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Benchmarks;

/// <summary>
/// <c>--profile</c>: where the hot path's time and its variance go, at scale 1 of the default 256×256 model
/// (queries [512, 8192], items [500, 8192]). (a) Distributions over many repetitions of the floor, the
/// module with its hand-written backward and the module with autograd's op-by-op backward, with the
/// process's minor page faults and involuntary context switches per repetition. (b) The time of every
/// operation of the hand-written forward and backward, repeated. (c) What a fresh 16 MB tensor costs
/// against a reused one (allocation and first-touch page faults).
/// </summary>
internal static class ProfileMode
{
    public static void Run(TextWriter output, int repetitions)
    {
        torch.set_num_threads(Environment.ProcessorCount);
        output.WriteLine($"profile: scale 1 of the 256×256 default model, batch {Shapes.Batch}, N = 500, {repetitions} repetitions per block");
        output.WriteLine($"threads: {ThreadSettings.Describe()}");
        var (blocks, d) = Shapes.Blocks(1, 8);
        using var memory = new BlockMemory(500, d);
        using var queries = nn.functional.normalize(blocks.reshape(-1, d), dim: 1).detach().requires_grad_(true);
        using var items = nn.functional.normalize(memory.Items.detach(), dim: 1).detach().requires_grad_(true);
        blocks.requires_grad_(true);

        output.WriteLine();
        output.WriteLine("(a) forward + backward, blocks of repetitions after 5 warm-up runs each");
        output.WriteLine("| path | min | p10 | median | p90 | max ms | minor faults / run | involuntary switches / run | runs over 1.2 × median |");
        output.WriteLine("|---|---|---|---|---|---|---|---|---|");
        Block(output, "floor (two products and a softmax on normalised operands)", () => HotPath.FloorStep(queries, items, true), repetitions);
        memory.FusedBackward = true;
        Block(output, "BlockMemory, hand-written backward", () => HotPath.ModuleStep(memory, blocks, true), repetitions);
        memory.FusedBackward = false;
        Block(output, "BlockMemory, autograd backward op by op", () => HotPath.ModuleStep(memory, blocks, true), repetitions);
        memory.FusedBackward = null;

        output.WriteLine();
        output.WriteLine("(b) every operation of the hand-written forward and backward (ms: median, max over the repetitions)");
        Operations(output, blocks.reshape(-1, d).detach(), memory.Items.detach(), memory.Temperature, repetitions);

        output.WriteLine();
        output.WriteLine("(c) a [512, 8192] float tensor (16 MB): allocated and filled each time, or one buffer refilled");
        output.WriteLine("| case | median ms | max ms | minor faults / run |");
        output.WriteLine("|---|---|---|---|");
        using var reused = empty(512, d);
        Measure(output, "fresh tensor, zero-filled", () =>
        {
            using var t = zeros(512, d);
        }, repetitions);
        Measure(output, "reused tensor, zero-filled", () => reused.zero_(), repetitions);
        blocks.Dispose();

        output.WriteLine();
        output.WriteLine("(d) the parts of one training step at 256×256, width 32 (ms: median [p25–p75])");
        output.WriteLine("| variant | whole step | forward + loss + backward | finiteness flags | Adam, guarded by the flag | Adam, unguarded |");
        output.WriteLine("|---|---|---|---|---|---|");
        foreach (var variant in new[] { ModelVariant.AutoencoderSkip, ModelVariant.Daad })
        {
            StepParts(output, variant, Math.Max(5, repetitions / 4));
        }
    }

    /// <summary>Times the phases of <c>TrainingStep.Run</c> separately, in interleaved rounds.</summary>
    private static void StepParts(TextWriter output, ModelVariant variant, int rounds)
    {
        using var model = new Pipeline.Model(variant, 256);
        var generator = model.Detector.Generator;
        var optimizer = model.Optimizer;
        var x = model.Images;
        generator.train();
        void Backward()
        {
            using var scope = NewDisposeScope();
            optimizer.ZeroGrad();
            var loss = nn.functional.mse_loss(generator.call(x), x);
            loss.backward();
        }

        Tensor Flags()
        {
            var sums = optimizer.Parameters.Where(p => p.grad is not null).Select(p => p.grad!.sum()).ToArray();
            return stack(sums).sum().isfinite();
        }

        Backward();
        using var apply = Flags();
        var (times, _) = Timing.Interleaved(new Action[]
        {
            model.TrainingStep,
            Backward,
            () =>
            {
                using var scope = NewDisposeScope();
                _ = Flags().cpu();
            },
            () => optimizer.Step(apply),
            () => optimizer.Step(),
        }, rounds);
        generator.eval();
        output.WriteLine($"| {variant} | {string.Join(" | ", times.Select(t => Timing.Spread(t)))} |");
    }

    private static void Block(TextWriter output, string name, Action action, int repetitions)
    {
        for (int i = 0; i < 5; i++)
        {
            action();
        }

        var times = new double[repetitions];
        var faults = new double[repetitions];
        var switches = new double[repetitions];
        for (int i = 0; i < repetitions; i++)
        {
            var before = ProcessCounters.Read();
            times[i] = Timing.Milliseconds(action);
            var delta = ProcessCounters.Read() - before;
            faults[i] = delta.MinorFaults;
            switches[i] = delta.InvoluntarySwitches;
        }

        double median = Timing.Median(times);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {times.Min():F1} | {Timing.Percentile(times, 0.1):F1} | {median:F1} | {Timing.Percentile(times, 0.9):F1} | {times.Max():F1} | {faults.Average():F0} | {switches.Average():F2} | {times.Count(t => t > 1.2 * median)} |"));
    }

    private static void Measure(TextWriter output, string name, Action action, int repetitions)
    {
        action();
        var times = new double[repetitions];
        var faults = new double[repetitions];
        for (int i = 0; i < repetitions; i++)
        {
            var before = ProcessCounters.Read();
            times[i] = Timing.Milliseconds(action);
            faults[i] = (ProcessCounters.Read() - before).MinorFaults;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {Timing.Median(times):F2} | {times.Max():F2} | {faults.Average():F0} |"));
    }

    /// <summary>The operations of <c>MemoryRead.ScaledForm</c>, one by one with a clock around each.</summary>
    private static void Operations(TextWriter output, Tensor q, Tensor m, double temperature, int repetitions)
    {
        var names = new List<string>();
        var times = new Dictionary<string, List<double>>();
        var clock = new Stopwatch();
        using var t = temperature.ToScalar();
        using var eps = 1e-12.ToScalar();
        using var one = 1.ToScalar();
        using var minusOne = (-1).ToScalar();
        for (int r = -3; r < repetitions; r++)
        {
            using var scope = NewDisposeScope();
            Tensor Op(string name, Func<Tensor> op)
            {
                clock.Restart();
                var result = op();
                clock.Stop();
                if (r >= 0)
                {
                    if (!times.TryGetValue(name, out var list))
                    {
                        times[name] = list = new List<double>();
                        names.Add(name);
                    }

                    list.Add(clock.Elapsed.TotalMilliseconds);
                }

                return result;
            }

            var qNorm = Op("fwd: query norms [M, D] → [M, 1]", () => q.norm(1, keepdim: true, p: 2));
            var mNorm = Op("fwd: item norms [N, D] → [N, 1]", () => m.norm(1, keepdim: true, p: 2));
            var qScale = Op("fwd: inverse norms (both)", () => qNorm.clamp_min(eps).reciprocal());
            var mScale = mNorm.clamp_min(eps).reciprocal().div_(t);
            var logits = Op("fwd: products q·mᵀ [M, N]", () => q.mm(m.t()));
            Op("fwd: scale the products", () => logits.mul_(qScale).mul_(mScale.t()));
            var weights = Op("fwd: softmax", () => logits.softmax(-1));
            Op("fwd: read W·m [M, D]", () => weights.mm(m));
            var gradRead = ones(q.shape[0], q.shape[1]);
            var gradWeights = Op("bwd: dW = dR·mᵀ", () => gradRead.mm(m.t()));
            var gradItems = Op("bwd: Wᵀ·dR [N, D]", () => weights.t().mm(gradRead));
            var gradLogits = Op("bwd: softmax backward", () => gradWeights.sub_((gradWeights * weights).sum(-1, keepdim: true)).mul_(weights));
            var shared = Op("bwd: norms' shares (Σ dL ⊙ L)", () => gradLogits * logits);
            var rowShare = shared.sum(-1, keepdim: true);
            var columnShare = shared.sum(0, keepdim: true).t();
            var gradProducts = Op("bwd: rescale dL into dP", () => gradLogits.mul_(qScale).mul_(mScale.t()));
            var gradQ = Op("bwd: dq = dP·m [M, D]", () => gradProducts.mm(m));
            Op("bwd: dq −= q ⊙ share [M, D], through a temporary (before)", () => gradQ.sub_(q * rowShare));
            Op("bwd: dq −= q ⊙ share [M, D], in place (addcmul_)", () => gradQ.addcmul_(q, rowShare, minusOne));
            Op("bwd: dm += dPᵀ·q [N, D], through a temporary (before)", () => gradItems.add_(gradProducts.t().mm(q), one));
            Op("bwd: dm += dPᵀ·q [N, D], in place (addmm_)", () => gradItems.addmm_(gradProducts.t(), q, 1, 1));
            Op("bwd: dm −= m ⊙ share [N, D], through a temporary (before)", () => gradItems.sub_(m * columnShare));
            Op("bwd: dm −= m ⊙ share [N, D], in place (addcmul_)", () => gradItems.addcmul_(m, columnShare, minusOne));
        }

        output.WriteLine("| operation | median ms | max ms |");
        output.WriteLine("|---|---|---|");
        foreach (string name in names)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {Timing.Median(times[name]):F2} | {times[name].Max():F2} |"));
        }
    }
}
