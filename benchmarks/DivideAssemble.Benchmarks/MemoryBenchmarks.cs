using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Benchmarks;

/// <summary>
/// The memory-addressing hot path: <see cref="BlockMemory"/> forward and forward+backward on the
/// divided features of each scale of the default 256×256 model (batch 8), against its floor — two
/// matrix products and a softmax on operands that are already L2-normalised.
/// </summary>
[Config(typeof(HotPathConfig))]
public class MemoryBenchmarks
{
    private BlockMemory memory = null!;
    private Tensor blocks = null!;
    private Tensor floorQueries = null!;
    private Tensor floorItems = null!;

    /// <summary>Scale of the 256×256 model (1 = 32×128×128 … 4 = 256×16×16).</summary>
    [Params(1, 2, 3, 4)]
    public int Scale { get; set; }

    /// <summary>Division ratio r (r,r,1); 0 means per-pixel blocks.</summary>
    [Params(2, 4, 8, 16, 0)]
    public int Ratio { get; set; }

    /// <summary>Memory items N.</summary>
    [Params(100, 500, 2000)]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Environment.ProcessorCount);
        torch.manual_seed(0);
        (blocks, long d) = Shapes.Blocks(Scale, Ratio);
        memory = new BlockMemory(Items, d);
        floorQueries = nn.functional.normalize(blocks.reshape(-1, d), dim: 1).detach().requires_grad_(true);
        floorItems = nn.functional.normalize(memory.Items.detach(), dim: 1).detach().requires_grad_(true);
        blocks.requires_grad_(true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        memory.Dispose();
        blocks.Dispose();
        floorQueries.Dispose();
        floorItems.Dispose();
    }

    [Benchmark(Baseline = true, Description = "floor fwd+bwd")]
    public void FloorForwardBackward() => HotPath.FloorStep(floorQueries, floorItems, backward: true);

    [Benchmark(Description = "BlockMemory fwd+bwd")]
    public void ModuleForwardBackward() => HotPath.ModuleStep(memory, blocks, backward: true);

    [Benchmark(Description = "floor fwd")]
    public void FloorForward() => HotPath.FloorStep(floorQueries, floorItems, backward: false);

    [Benchmark(Description = "BlockMemory fwd")]
    public void ModuleForward() => HotPath.ModuleStep(memory, blocks, backward: false);
}

/// <summary>The measured operations, shared by BenchmarkDotNet and the quick mode.</summary>
internal static class HotPath
{
    public static void FloorStep(Tensor queries, Tensor items, bool backward)
    {
        using var scope = NewDisposeScope();
        if (backward)
        {
            var w = queries.mm(items.t()).softmax(-1);
            var read = w.mm(items);
            read.backward(new[] { ones_like(read) });
            queries.grad!.zero_();
            items.grad!.zero_();
        }
        else
        {
            using var noGrad = no_grad();
            var w = queries.mm(items.t()).softmax(-1);
            _ = w.mm(items);
        }
    }

    public static void ModuleStep(BlockMemory memory, Tensor blocks, bool backward)
    {
        using var scope = NewDisposeScope();
        if (backward)
        {
            var read = memory.forward(blocks);
            read.backward(new[] { ones_like(read) });
            memory.Items.grad!.zero_();
            blocks.grad!.zero_();
        }
        else
        {
            using var noGrad = no_grad();
            _ = memory.forward(blocks);
        }
    }
}
