using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Modules;

/// <summary>One scale's skip connection through a memory: divide → address and read → assemble.</summary>
internal sealed class MemorySkip : nn.Module<Tensor, Tensor>
{
    private readonly BlockMemory memory;
    private readonly BlockDivider divider;
    private readonly long channels;
    private readonly long size;

    public MemorySkip(ScalePlan plan, int items, double temperature, double shrinkThreshold)
        : base(nameof(MemorySkip))
    {
        divider = new BlockDivider(plan.HeightRatio, plan.WidthRatio, plan.ChannelRatio);
        channels = plan.Channels;
        size = plan.Size;
        memory = new BlockMemory(items, plan.BlockLength, temperature, shrinkThreshold);
        RegisterComponents();
    }

    public BlockMemory Memory => memory;

    public BlockDivider Divider => divider;

    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        var blocks = divider.Divide(features);
        var read = memory.call(blocks);
        return divider.Assemble(read, channels, size, size).MoveToOuterDisposeScope();
    }

    /// <summary>Returns the addressing weights of this scale's memory for <paramref name="features"/>.</summary>
    public Tensor Address(Tensor features)
    {
        using var scope = NewDisposeScope();
        return memory.Address(divider.Divide(features)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            memory.Dispose();
        }

        base.Dispose(disposing);
    }
}
