using FluentAssertions;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

public sealed class NetworkTests : TorchTest
{
    [TestCase(32, 1)]
    [TestCase(64, 3)]
    [TestCase(128, 1)]
    [TestCase(256, 3)]
    public void Generator_output_shape_equals_input_shape(int size, int channels)
    {
        using var scope = NewDisposeScope();
        using var g = new DaadGenerator(Tiny(size, channels));
        var x = rand(2, channels, size, size) * 2 - 1;
        var y = g.forward(x);
        y.shape.Should().Equal(x.shape);
        y.abs().max().item<float>().Should().BeLessThanOrEqualTo(1f);
    }

    [TestCase(ModelVariant.Autoencoder, 0)]
    [TestCase(ModelVariant.AutoencoderSkip, 0)]
    [TestCase(ModelVariant.MemAE, 3)]
    [TestCase(ModelVariant.Daad, 3)]
    public void Every_variant_builds_with_the_expected_memories(ModelVariant variant, int memories)
    {
        using var scope = NewDisposeScope();
        var options = Tiny(32, 1);
        options.Variant = variant;
        using var g = new DaadGenerator(options);
        g.Memories.Should().HaveCount(memories);
        g.forward(zeros(1, 1, 32, 32)).shape.Should().Equal(1, 1, 32, 32);
        if (variant == ModelVariant.MemAE)
        {
            g.Scales.Should().OnlyContain(p => p.HeightRatio == p.Size && p.WidthRatio == p.Size && p.BlockLength == p.Channels);
        }
    }

    [Test]
    public void Ratios_above_a_feature_map_are_capped_and_shown_in_the_summary()
    {
        using var scope = NewDisposeScope();
        var options = Tiny(32, 3);
        options.Depth = 4;
        options.HeightRatio = options.WidthRatio = 8;
        using var g = new DaadGenerator(options);
        g.Scales.Select(p => p.Size).Should().Equal(16, 8, 4, 2);
        g.Scales.Select(p => p.HeightRatio).Should().Equal(8, 8, 4, 2);
        g.Scales.Select(p => p.Capped).Should().Equal(false, false, true, true);
        g.Summary().Should().Contain("division 4,4,1 (capped)").And.Contain("division 8,8,1,");
    }

    [Test]
    public void Per_pixel_setting_uses_each_scales_size()
    {
        using var scope = NewDisposeScope();
        var options = Tiny(32, 1);
        options.PerPixel = true;
        using var g = new DaadGenerator(options);
        g.Scales.Should().OnlyContain(p => p.HeightRatio == p.Size && p.WidthRatio == p.Size);
    }

    [Test]
    public void Bad_configurations_throw_before_any_tensor_work_naming_the_cause()
    {
        var ratio = Tiny(64, 1);
        ratio.HeightRatio = 3; // 3 < 32 and does not divide it
        FluentActions.Invoking(() => new DaadGenerator(ratio)).Should().Throw<ArgumentException>().WithMessage("*HeightRatio: 3 does not divide the height 32 of scale 1*");

        var size = Tiny(40, 1);
        size.Depth = 4;
        FluentActions.Invoking(() => new DaadGenerator(size)).Should().Throw<ArgumentException>().WithMessage("*ImageSize: 40 is not divisible by 2^Depth = 16*");

        var items = Tiny(32, 1);
        items.MemoryItems = 0;
        FluentActions.Invoking(() => new DaadGenerator(items)).Should().Throw<ArgumentException>().WithMessage("*MemoryItems: The field MemoryItems must be between 1 and 100000*");
    }

    [Test]
    public void Gradients_reach_every_memory_bank_and_the_encoder()
    {
        using var scope = NewDisposeScope();
        using var g = new DaadGenerator(Tiny(32, 3));
        var x = rand(2, 3, 32, 32) * 2 - 1;
        nn.functional.mse_loss(g.forward(x), x).backward();
        foreach (var (scale, memory) in g.Memories)
        {
            memory.Items.grad.Should().NotBeNull($"scale {scale}");
            memory.Items.grad!.abs().sum().item<float>().Should().BeGreaterThan(0f, $"scale {scale}'s memory must learn");
        }

        var encoderWeights = g.named_parameters().Where(p => p.name.StartsWith("encoder", StringComparison.Ordinal)).ToList();
        encoderWeights.Should().NotBeEmpty();
        encoderWeights.Should().OnlyContain(p => !ReferenceEquals(p.parameter.grad, null) && p.parameter.grad.abs().sum().item<float>() > 0f);
    }

    [TestCase(32)]
    [TestCase(64)]
    [TestCase(256)]
    public void Discriminator_gives_one_logit_and_100_features_per_image(int size)
    {
        using var scope = NewDisposeScope();
        using var d = new DcganDiscriminator(3, size, baseWidth: 8, maxWidth: 64);
        var (logits, features) = d.forward(randn(2, 3, size, size));
        logits.shape.Should().Equal(2);
        features.shape.Should().Equal(2, 100);
        FluentActions.Invoking(() => new DcganDiscriminator(3, 48)).Should().Throw<ArgumentException>().WithMessage("*4·2^k*48*");
    }

    internal static NetworkOptions Tiny(int size, int channels) => new()
    {
        ImageSize = size,
        Channels = channels,
        Depth = 3,
        BaseWidth = 8,
        MaxWidth = 32,
        HeightRatio = 2,
        WidthRatio = 2,
        MemoryItems = 20,
    };
}
