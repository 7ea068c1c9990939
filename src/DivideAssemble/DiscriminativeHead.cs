using DivideAssemble.Modules;
using DivideAssemble.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// The discriminative head: a small UNet that reads an image and its reconstruction side by side and
/// returns a per-pixel anomaly logit — trained on synthetic anomalies made from the user's own normal
/// images, so it learns what "wrong" looks like where a reconstruction error alone stays small (the
/// discriminative network of DRAEM, Zavrtanik et al., ICCV 2021, in a CPU-sized form).
/// </summary>
/// <remarks>
/// Input <c>[B, 2C, S, S]</c>: the image and its reconstruction, concatenated. A stem (Conv 3×3 → BatchNorm →
/// LeakyReLU 0.2, width w) keeps full resolution; <see cref="NetworkOptions.HeadDepth"/> stages of Conv 4×4
/// stride 2 → BatchNorm → LeakyReLU double the width each; as many ConvTranspose 4×4 stride 2 → BatchNorm → ReLU
/// stages come back up over the concatenated encoder features; a final Conv 3×3 gives one logit per pixel.
/// Convolutions pad their output channels to 16 against oneDNN's NaN gradients (docs/platforms.md).
/// </remarks>
public sealed class DiscriminativeHead : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> stem;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> down;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> up;
    private readonly nn.Module<Tensor, Tensor> output;
    private readonly int channels;
    private readonly int size;

    /// <summary>Builds a head for <paramref name="channels"/>-channel images of side <paramref name="imageSize"/>.</summary>
    /// <param name="channels">The image channels C (the head reads 2C).</param>
    /// <param name="imageSize">The image side S; divisible by 2^<paramref name="depth"/>.</param>
    /// <param name="width">The stem's width w (each down stage doubles it).</param>
    /// <param name="depth">The number of down (and up) stages.</param>
    /// <exception cref="ArgumentException">An argument is out of range, or <paramref name="imageSize"/> is not divisible by 2^<paramref name="depth"/>.</exception>
    public DiscriminativeHead(int channels, int imageSize, int width, int depth)
        : base(nameof(DiscriminativeHead))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        if (imageSize < 1 || imageSize % (1 << depth) != 0)
        {
            throw new ArgumentException($"HeadDepth: the head halves the image {depth} times, so the image size must be divisible by 2^{depth} = {1 << depth}; got {imageSize}.", nameof(imageSize));
        }

        this.channels = channels;
        size = imageSize;
        stem = Block(new SafeConv(2 * channels, width, 3, 1, 1, transposed: false, bias: false), width, leaky: true);
        down = new ModuleList<nn.Module<Tensor, Tensor>>();
        for (int i = 1; i <= depth; i++)
        {
            down.Add(Block(new SafeConv(Width(width, i - 1), Width(width, i), 4, 2, 1, transposed: false, bias: false), Width(width, i), leaky: true));
        }

        // Up stage i (i = depth … 1) returns to the resolution of stage i − 1, over the concatenation of the
        // stage below and the encoder's stage i (the deepest reads the encoder's last stage alone).
        up = new ModuleList<nn.Module<Tensor, Tensor>>();
        for (int i = depth; i >= 1; i--)
        {
            long input = i == depth ? Width(width, depth) : 2L * Width(width, i);
            up.Add(Block(new SafeConv(input, Width(width, i - 1), 4, 2, 1, transposed: true, bias: false), Width(width, i - 1), leaky: false));
        }

        output = new SafeConv(2L * width, 1, 3, 1, 1, transposed: false, bias: true);
        RegisterComponents();
        DcganInit.Apply(this);
    }

    /// <summary>Returns per-pixel anomaly logits <c>[B, 1, S, S]</c> of images and their reconstructions (both <c>[B, C, S, S]</c>).</summary>
    /// <exception cref="ArgumentException">A shape does not match the head.</exception>
    public override Tensor forward(Tensor images, Tensor reconstructions)
    {
        Check(images, nameof(images));
        Check(reconstructions, nameof(reconstructions));
        using var scope = NewDisposeScope();
        var features = new List<Tensor> { stem.call(cat(new[] { images, reconstructions }, 1)) };
        foreach (var stage in down)
        {
            features.Add(stage.call(features[^1]));
        }

        var h = features[^1];
        for (int k = 0; k < up.Count; k++)
        {
            int i = up.Count - k; // the encoder stage this up stage starts from
            h = up[k].call(k == 0 ? h : cat(new[] { h, features[i] }, 1));
        }

        return output.call(cat(new[] { h, features[0] }, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>Returns the per-pixel anomaly probability <c>[B, S, S]</c> (the sigmoid of the logits).</summary>
    public Tensor Probability(Tensor images, Tensor reconstructions) => call(images, reconstructions).sigmoid().squeeze(1);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            stem.Dispose();
            down.Dispose();
            up.Dispose();
            output.Dispose();
        }

        base.Dispose(disposing);
    }

    private static long Width(int width, int stage) => (long)width << stage;

    private static nn.Module<Tensor, Tensor> Block(SafeConv conv, long width, bool leaky) => nn.Sequential(
        ("conv", conv),
        ("bn", new SafeBatchNorm2d(width)),
        ("act", leaky ? new SafeLeakyReLU(0.2) : nn.ReLU()));

    private void Check(Tensor t, string name)
    {
        if (t.dim() != 4 || t.shape[1] != channels || t.shape[2] != size || t.shape[3] != size)
        {
            throw new ArgumentException($"Expected [B, {channels}, {size}, {size}], got [{string.Join(", ", t.shape)}].", name);
        }
    }
}
