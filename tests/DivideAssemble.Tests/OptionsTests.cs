using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;

namespace DivideAssemble.Tests;

public sealed class OptionsTests
{
    private static readonly (string Property, Action<DaadOptions> Break)[] Cases =
    {
        ("Network.ImageSize", o => o.Network.ImageSize = 100),
        ("Network.Channels", o => o.Network.Channels = 0),
        ("Network.Depth", o => o.Network.Depth = 0),
        ("Network.BaseWidth", o => o.Network.BaseWidth = 0),
        ("Network.MaxWidth", o => o.Network.MaxWidth = 8),
        ("Network.HeightRatio", o => o.Network.HeightRatio = 3),
        ("Network.WidthRatio", o => o.Network.WidthRatio = 0),
        ("Network.ChannelRatio", o => o.Network.ChannelRatio = 3),
        ("Network.MemoryItems", o => o.Network.MemoryItems = 0),
        ("Network.MemoryTemperature", o => o.Network.MemoryTemperature = 0),
        ("Network.ShrinkThreshold", o => o.Network.ShrinkThreshold = 1.5),
        ("Network.MemoryScales", o => o.Network.MemoryScales = new List<int> { 9 }),
        ("Network.FeatureDimension", o => o.Network.FeatureDimension = 0),
        ("Network.Variant", o => o.Network.Variant = (ModelVariant)42),
        ("Training.Epochs", o => o.Training.Epochs = 0),
        ("Training.BatchSize", o => o.Training.BatchSize = 0),
        ("Training.LearningRate", o => o.Training.LearningRate = -1),
        ("Training.Beta1", o => o.Training.Beta1 = 1),
        ("Training.Beta2", o => o.Training.Beta2 = -0.1),
        ("Training.ReconstructionWeight", o => o.Training.ReconstructionWeight = -1),
        ("Training.ValidationFraction", o => o.Training.ValidationFraction = 0.95),
        ("Training.MemoryInit", o => o.Training.MemoryInit = (MemoryInit)7),
        ("Scoring.Gamma", o => o.Scoring.Gamma = 1.5),
        ("Scoring.MemoryWeight", o => o.Scoring.MemoryWeight = 1.5),
        ("Scoring.SmoothingSigma", o => o.Scoring.SmoothingSigma = -1),
        ("Scoring.TargetFalsePositiveRate", o => o.Scoring.TargetFalsePositiveRate = 2),
        ("Scoring.Pooling", o => o.Scoring.Pooling = default),
        ("Scoring.Residual", o => o.Scoring.Residual = default),
        ("Device", o => o.Device = "tpu"),
    };

    [Test]
    public void Presets_are_valid()
    {
        DaadOptionsValidator.Collect(DaadOptions.Default).Should().BeEmpty();
        DaadOptionsValidator.Collect(DaadOptions.Paper).Should().BeEmpty();
        DaadOptions.Paper.Network.Variant.Should().Be(ModelVariant.DaadPlus);
        DaadOptions.Paper.Network.ImageSize.Should().Be(256);
        DaadOptions.Paper.Training.Epochs.Should().Be(1000);
    }

    [TestCase(28, 1)]
    [TestCase(32, 1)]
    [TestCase(64, 8)]
    [TestCase(96, 2)] // 12 would not divide the 6×6 map at the fourth scale
    [TestCase(128, 16)]
    [TestCase(256, 16)]
    public void The_default_division_follows_the_image_size(int size, int ratio)
    {
        var network = new NetworkOptions { ImageSize = size };
        network.DefaultBlockRatio().Should().Be(ratio);
        network.ResolvedHeightRatio.Should().Be(ratio);
        network.DescribeDivision().Should().Be($"{ratio},{ratio},1");
        network.HeightRatio = 4;
        network.ResolvedHeightRatio.Should().Be(4, "a set ratio wins over the size rule");
    }

    [TestCase(ModelVariant.Daad, 1, 64, 0)] // won on validation, lost on real defects: an option
    [TestCase(ModelVariant.Daad, 3, 64, 0)] // colour: the head lost on validation
    [TestCase(ModelVariant.Daad, 1, 32, 0)]
    [TestCase(ModelVariant.Daad, 1, 128, 0)]
    [TestCase(ModelVariant.Daad, null, 64, 0)] // channels not known yet
    [TestCase(ModelVariant.DaadPlus, 1, 64, 0)]
    [TestCase(ModelVariant.Autoencoder, 1, 64, 0)]
    public void The_default_head_follows_variant_channels_and_size(ModelVariant variant, int? channels, int size, int width)
    {
        var options = new DaadOptions();
        options.Network.Variant = variant;
        options.Network.Channels = channels;
        options.Network.ImageSize = size;
        options.Network.ResolvedHeadWidth.Should().Be(width);
        options.EffectiveHeadEpochs().Should().Be(width > 0 ? options.Training.Epochs : 0);
        options.TotalEpochs().Should().Be(options.Training.Epochs * (width > 0 ? 2 : 1));
        options.EffectiveRestoration().Should().BeFalse();
        options.EffectiveHeadWeight().Should().Be(0, "no head, no head score");
        options.Network.HeadWidth = 16;
        options.Network.HasHead.Should().BeTrue("a set width wins over the rule");
        options.EffectiveHeadEpochs().Should().Be(options.Training.Epochs);
        options.EffectiveHeadWeight().Should().Be(0.5, "the mean of the z-scored reconstruction and head scores, unless set");
    }

    [Test]
    public void Memory_init_and_weight_resolve_from_the_division()
    {
        var small = DaadOptions.Default;
        small.Network.ImageSize = 32;
        small.Network.MemoryHoldsWholeMaps().Should().BeTrue("the default division at 32×32 is 1,1,1");
        small.EffectiveMemoryInit().Should().Be(MemoryInit.Samples);
        small.EffectiveMemoryWeight().Should().Be(ScoringOptions.DefaultMemoryWeight);

        var large = DaadOptions.Default;
        large.EffectiveMemoryInit().Should().Be(MemoryInit.Uniform, "16,16,1 blocks at 128×128 are local patterns");
        large.EffectiveMemoryWeight().Should().Be(0);

        small.Training.MemoryInit = MemoryInit.Uniform;
        small.EffectiveMemoryWeight().Should().Be(0, "distances to uniformly started items were not measured to help");
        small.Scoring.MemoryWeight = 0.3;
        small.EffectiveMemoryWeight().Should().Be(0.3, "a set weight wins");
        small.Network.Variant = ModelVariant.Autoencoder;
        small.EffectiveMemoryWeight().Should().Be(0, "an autoencoder has no memory");
        DaadOptions.Paper.EffectiveMemoryInit().Should().Be(MemoryInit.Uniform);
        DaadOptions.Paper.EffectiveMemoryWeight().Should().Be(0);
    }

    [TestCaseSource(nameof(Names))]
    public void Each_invalid_field_yields_an_error_naming_it(string property)
    {
        var options = DaadOptions.Default;
        Cases.Single(c => c.Property == property).Break(options);
        var errors = DaadOptionsValidator.Collect(options);
        errors.Should().ContainSingle(e => e.StartsWith(property + ":", StringComparison.Ordinal), string.Join(" | ", errors));
    }

    [Test]
    public void Several_problems_are_all_listed_at_once()
    {
        var options = DaadOptions.Default;
        options.Training.Epochs = 0;
        options.Scoring.Gamma = 3;
        options.Device = "gpu";
        var act = () => DaadBuilder.Create(options).Build();
        act.Should().Throw<OptionsValidationException>()
            .Which.Failures.Should().HaveCount(3)
            .And.Contain(f => f.StartsWith("Training.Epochs", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("Scoring.Gamma", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("Device", StringComparison.Ordinal));
    }

    [Test]
    public void Builder_methods_only_record_and_Build_reports_every_problem_through_the_validator()
    {
        var builder = DaadBuilder.Create().WithImageSize(4).WithBlockDivision(0, 8).WithMemory(0).OnDevice(" ");
        var options = builder.ToOptions();
        options.Network.ImageSize.Should().Be(4, "the builder records what it is given");
        var failures = FluentActions.Invoking(() => builder.Build()).Should().Throw<OptionsValidationException>().Which.Failures.ToList();
        failures.Should().BeEquivalentTo(DaadOptionsValidator.Collect(options), "the builder adds no checks and no words of its own");
        failures.Should().Contain(f => f.StartsWith("Network.ImageSize:", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("Network.HeightRatio:", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("Network.MemoryItems:", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("Device:", StringComparison.Ordinal));
    }

    [Test]
    public void A_module_accepts_exactly_the_memory_settings_the_options_accept()
    {
        foreach (double t in new[] { NetworkOptions.MinTemperature, 1.0, NetworkOptions.MaxTemperature })
        {
            using var m = new BlockMemory(4, 4, temperature: t);
            Valid(o => o.Network.MemoryTemperature = t).Should().BeTrue($"T = {t}");
        }

        foreach (double t in new[] { NetworkOptions.MinTemperature / 2, NetworkOptions.MaxTemperature * 2, 0 })
        {
            FluentActions.Invoking(() => new BlockMemory(4, 4, temperature: t)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("temperature");
            Valid(o => o.Network.MemoryTemperature = t).Should().BeFalse($"T = {t}");
        }

        FluentActions.Invoking(() => new BlockMemory(4, 4, shrinkThreshold: NetworkOptions.MaxShrinkThreshold + 1e-4)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("shrinkThreshold");
        Valid(o => o.Network.ShrinkThreshold = NetworkOptions.MaxShrinkThreshold + 1e-4).Should().BeFalse();
        using var edge = new BlockMemory(4, 4, shrinkThreshold: NetworkOptions.MaxShrinkThreshold);
        Valid(o => o.Network.ShrinkThreshold = NetworkOptions.MaxShrinkThreshold).Should().BeTrue();

        static bool Valid(Action<DaadOptions> change)
        {
            var o = DaadOptions.Default;
            change(o);
            return DaadOptionsValidator.Collect(o).Count == 0;
        }
    }

    private static IEnumerable<string> Names() => Cases.Select(c => c.Property);
}
