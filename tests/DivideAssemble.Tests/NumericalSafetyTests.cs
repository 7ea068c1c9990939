using FluentAssertions;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>
/// libtorch 2.10's oneDNN returns random NaN input gradients for convolutions whose output-channel
/// count is not a multiple of 16 (docs/platforms.md). These tests poison the heap with NaN the way
/// the reproduction does and check that no convolution the library builds is affected.
/// </summary>
public sealed class NumericalSafetyTests : TorchTest
{
    [Category("Slow")]
    [TestCase(1)]
    [TestCase(3)]
    public void Generator_and_discriminator_gradients_stay_finite_on_a_poisoned_heap(int channels)
    {
        var options = new NetworkOptions
        {
            Variant = ModelVariant.DaadPlus,
            ImageSize = 64,
            Channels = channels,
            Depth = 4,
            BaseWidth = 8, // 8, 16, 32, 64: includes widths that are not multiples of 16
            MaxWidth = 64,
            MemoryItems = 20,
        };
        using var g = new DaadGenerator(options);
        using var d = new DcganDiscriminator(channels, 64, baseWidth: 8, maxWidth: 64);
        for (int pass = 0; pass < 20; pass++)
        {
            using var scope = NewDisposeScope();
            Poison();
            g.zero_grad();
            d.zero_grad();
            var x = (rand(8, channels, 64, 64) * 2 - 1).requires_grad_(true);
            var y = g.forward(x);
            var (logits, features) = d.forward(y);
            (y.square().mean() + logits.square().mean() + features.square().mean()).backward();
            x.grad!.isfinite().all().item<bool>().Should().BeTrue($"input gradient in pass {pass}");
            foreach (var (name, p) in g.named_parameters().Concat(d.named_parameters()))
            {
                p.grad!.isfinite().all().item<bool>().Should().BeTrue($"gradient of {name} in pass {pass}");
            }
        }
    }

    [TestCase(1)]
    [TestCase(3)]
    public void The_restoration_loss_and_the_head_keep_their_gradients_finite_on_a_poisoned_heap(int channels)
    {
        // The SSIM of restoration training filters each channel with a Gaussian window: as a depthwise convolution
        // (C output channels) its input gradient came back NaN in most training runs on an AVX-512 machine.
        using var head = new DiscriminativeHead(channels, 64, 8, 3);
        for (int pass = 0; pass < 20; pass++)
        {
            using var scope = NewDisposeScope();
            Poison();
            head.zero_grad();
            var target = rand(8, channels, 64, 64) * 2 - 1;
            var recon = (rand(8, channels, 64, 64) * 2 - 1).requires_grad_(true);
            Poison();
            var loss = Losses.Generator(target, recon, restoration: true);
            loss.backward();
            recon.grad!.isfinite().all().item<bool>().Should().BeTrue($"the restoration loss's input gradient in pass {pass}");
            Losses.Focal(head.call(target, recon.detach()), rand(8, 1, 64, 64).gt(0.9).to(float32)).backward();
            foreach (var (name, p) in head.named_parameters())
            {
                p.grad!.isfinite().all().item<bool>().Should().BeTrue($"gradient of the head's {name} in pass {pass}");
            }
        }
    }

    [Test]
    public void Every_convolution_computes_correct_input_gradients()
    {
        // A padded convolution must give the same input gradient as float64 reference maths.
        foreach (var (inC, outC) in new[] { (32, 3), (32, 1), (8, 100), (16, 24) })
        {
            using var scope = NewDisposeScope();
            using var conv = new SafeConv(inC, outC, 3, 1, 1, transposed: false);
            var x = randn(2, inC, 16, 16).requires_grad_(true);
            for (int i = 0; i < 5; i++)
            {
                Poison();
            }

            conv.forward(x).square().sum().backward();
            var reference = x.detach().to(float64).requires_grad_(true);
            var weight = conv.parameters().First().detach().to(float64).narrow(0, 0, outC);
            var bias = conv.parameters().Last().detach().to(float64).narrow(0, 0, outC);
            nn.functional.conv2d(reference, weight, bias, padding: new long[] { 1, 1 }).square().sum().backward();
            TensorAssert.MaxAbsDiff(x.grad!.to(float64), reference.grad!).Should().BeLessThan(1e-3, $"Conv({inC}→{outC})");
        }
    }

    private static void Poison()
    {
        for (int i = 0; i < 4; i++)
        {
            using var t = full(4608, float.NaN);
            t.add_(1);
        }
    }
}
