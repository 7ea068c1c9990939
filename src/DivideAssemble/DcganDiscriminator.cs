using DivideAssemble.Modules;
using DivideAssemble.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// DCGAN-style discriminator of DAAD+: Conv 4×4 stride-2 stages with LeakyReLU(0.2) (BatchNorm
/// from the second stage) down to 4×4, the flattened last conv output projected to the semantic
/// features f_D, and a one-logit head on f_D.
/// </summary>
public sealed class DcganDiscriminator : nn.Module<Tensor, (Tensor Logits, Tensor Features)>
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> stages;
    private readonly Linear projection;
    private readonly Linear head;
    private readonly int channels;
    private readonly int imageSize;

    /// <summary>Builds a discriminator for <paramref name="channels"/>×S×S images.</summary>
    /// <param name="channels">Image channels.</param>
    /// <param name="imageSize">Image side S: a power-of-two multiple of 4, at least 8.</param>
    /// <param name="baseWidth">Width of the first stage; stage i has min(base·2^i, cap) channels.</param>
    /// <param name="maxWidth">Width cap.</param>
    /// <param name="featureDimension">Dimension of f_D (the paper's 100).</param>
    /// <exception cref="ArgumentException">The image size cannot be halved down to 4×4, or a width is below 1.</exception>
    public DcganDiscriminator(int channels, int imageSize, int baseWidth = 32, int maxWidth = 512, int featureDimension = 100)
        : base(nameof(DcganDiscriminator))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(baseWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(featureDimension, 1);
        if (imageSize < 8 || imageSize % 4 != 0 || !IsPowerOfTwo(imageSize / 4))
        {
            throw new ArgumentException($"The discriminator halves the image down to 4×4, so the image size must be 4·2^k with k ≥ 1; got {imageSize}.", nameof(imageSize));
        }

        this.channels = channels;
        this.imageSize = imageSize;
        stages = new ModuleList<nn.Module<Tensor, Tensor>>();
        long input = channels;
        long width = baseWidth;
        int count = (int)Math.Log2(imageSize / 4);
        for (int i = 0; i < count; i++)
        {
            width = Math.Min((long)baseWidth << i, maxWidth);
            var layers = new List<(string, nn.Module<Tensor, Tensor>)> { ("conv", new SafeConv(input, width, 4, 2, 1, transposed: false, bias: i == 0)) };
            if (i > 0)
            {
                layers.Add(("bn", new SafeBatchNorm2d(width)));
            }

            layers.Add(("act", new SafeLeakyReLU(0.2)));
            stages.Add(nn.Sequential(layers));
            input = width;
        }

        projection = nn.Linear(width * 16, featureDimension);
        head = nn.Linear(featureDimension, 1);
        RegisterComponents();
        DcganInit.Apply(this);
    }

    /// <summary>Returns one logit per image (<c>[B]</c>) and the semantic features f_D (<c>[B, featureDimension]</c>).</summary>
    /// <exception cref="ArgumentException">The input's shape does not match the configured channels and size.</exception>
    public override (Tensor Logits, Tensor Features) forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.dim() != 4 || input.shape[1] != channels || input.shape[2] != imageSize || input.shape[3] != imageSize)
        {
            throw new ArgumentException($"Expected images of shape [B, {channels}, {imageSize}, {imageSize}], got [{string.Join(", ", input.shape)}].", nameof(input));
        }

        using var scope = NewDisposeScope();
        var h = input;
        foreach (var stage in stages)
        {
            h = stage.call(h);
        }

        var features = projection.call(h.flatten(1));
        var logits = head.call(features).squeeze(1);
        return (logits.MoveToOuterDisposeScope(), features.MoveToOuterDisposeScope());
    }

    private static bool IsPowerOfTwo(int v) => v > 0 && (v & (v - 1)) == 0;
}
