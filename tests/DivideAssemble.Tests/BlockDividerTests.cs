using FluentAssertions;
using NUnit.Framework;
using static DivideAssemble.Tests.TensorAssert;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

public sealed class BlockDividerTests : TorchTest
{
    [TestCase(2, 3, 8, 8, 1, 1, 1)]
    [TestCase(2, 3, 8, 8, 2, 4, 1)]
    [TestCase(2, 4, 8, 8, 8, 8, 1)]
    [TestCase(1, 6, 12, 6, 3, 2, 3)] // channel division
    [TestCase(3, 2, 8, 8, 8, 8, 1)] // per-pixel blocks (MemAE)
    [TestCase(2, 4, 6, 6, 6, 6, 4)] // per-pixel and per-channel
    public void Divide_then_assemble_is_exact(int b, int c, int h, int w, int rh, int rw, int rc)
    {
        using var scope = NewDisposeScope();
        var divider = new BlockDivider(rh, rw, rc);
        var x = randn(b, c, h, w);
        var blocks = divider.Divide(x);
        blocks.shape.Should().Equal(b, rh * rw * rc, c / rc * (h / rh) * (w / rw));
        var back = divider.Assemble(blocks, c, h, w);
        back.shape.Should().Equal(x.shape);
        Same(back, x).Should().BeTrue();
    }

    [Test]
    public void Block_k_holds_the_expected_cell_and_channel_group()
    {
        using var scope = NewDisposeScope();
        const int b = 2, c = 4, h = 6, w = 4, rc = 2, rh = 3, rw = 2;
        var x = arange(b * c * h * w, dtype: float32).reshape(b, c, h, w);
        var blocks = new BlockDivider(rh, rw, rc).Divide(x);
        int ch = c / rc, bh = h / rh, bw = w / rw;
        for (int n = 0; n < b; n++)
        {
            for (int g = 0; g < rc; g++)
            {
                for (int i = 0; i < rh; i++)
                {
                    for (int j = 0; j < rw; j++)
                    {
                        int k = ((g * rh) + i) * rw + j;
                        var expected = x[n, TensorIndex.Slice(g * ch, (g + 1) * ch), TensorIndex.Slice(i * bh, (i + 1) * bh), TensorIndex.Slice(j * bw, (j + 1) * bw)].reshape(-1);
                        Same(blocks[n, k], expected).Should().BeTrue($"block {k} of image {n} is channel group {g}, cell ({i},{j})");
                    }
                }
            }
        }
    }

    [TestCase(3, 1, 1, "height", 8)]
    [TestCase(1, 5, 1, "width", 8)]
    [TestCase(1, 1, 3, "channels", 4)]
    public void A_ratio_that_does_not_divide_its_dimension_is_named(int rh, int rw, int rc, string dimension, int size)
    {
        using var scope = NewDisposeScope();
        var divider = new BlockDivider(rh, rw, rc);
        var act = () => divider.Divide(zeros(1, 4, 8, 8));
        act.Should().Throw<ArgumentException>().WithMessage($"*{dimension} ratio {Math.Max(rh, Math.Max(rw, rc))}*{dimension} of {size}*");
    }

    [Test]
    public void Assemble_rejects_blocks_of_the_wrong_shape()
    {
        using var scope = NewDisposeScope();
        var act = () => new BlockDivider(2, 2, 1).Assemble(zeros(1, 4, 3), 4, 4, 4);
        act.Should().Throw<ArgumentException>().WithMessage("*[B, 4, 16]*");
    }
}
