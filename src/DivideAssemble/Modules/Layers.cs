using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// Convolution layers whose output-channel count is padded to a multiple of 16 and narrowed back.
/// libtorch 2.10's oneDNN reads uninitialised padding lanes in the input-gradient pass when the
/// output channels are not a multiple of its 16-wide (AVX-512) or 8-wide (AVX2) block, returning
/// random NaN gradients (docs/platforms.md). Padding costs nothing measurable.
/// </summary>
internal sealed class SafeConv : nn.Module<Tensor, Tensor>
{
    internal const int ChannelBlock = 16;

    private readonly nn.Module<Tensor, Tensor> conv;
    private readonly long outChannels;
    private readonly long paddedChannels;

    public SafeConv(long inChannels, long outChannels, long kernel, long stride, long padding, bool transposed, bool bias = true)
        : base(nameof(SafeConv))
    {
        this.outChannels = outChannels;
        paddedChannels = (outChannels + ChannelBlock - 1) / ChannelBlock * ChannelBlock;
        conv = transposed
            ? nn.ConvTranspose2d(inChannels, paddedChannels, kernel, stride, padding, bias: bias)
            : nn.Conv2d(inChannels, paddedChannels, kernel, stride, padding, bias: bias);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var y = conv.forward(input);
        return paddedChannels == outChannels ? y : y.narrow(1, 0, outChannels);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// LeakyReLU holding its slope as one long-lived <see cref="Scalar"/>: TorchSharp's own module
/// converts the slope implicitly on every call, and its finalizer can free that temporary while
/// the native call still reads it (docs/platforms.md).
/// </summary>
internal sealed class SafeLeakyReLU : nn.Module<Tensor, Tensor>
{
    private readonly Scalar slope;

    public SafeLeakyReLU(double negativeSlope)
        : base(nameof(SafeLeakyReLU))
    {
        slope = negativeSlope.ToScalar();
    }

    public override Tensor forward(Tensor input)
    {
        var y = input.leaky_relu(slope);
        GC.KeepAlive(slope);
        return y;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            slope.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>DCGAN-style initialisation: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0.</summary>
internal static class DcganInit
{
    public static void Apply(nn.Module root)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in root.named_modules())
        {
            switch (module)
            {
                case Conv2d c:
                    nn.init.normal_(c.weight, 0.0, 0.02);
                    if (c.bias is not null)
                    {
                        nn.init.zeros_(c.bias);
                    }

                    break;
                case ConvTranspose2d t:
                    nn.init.normal_(t.weight, 0.0, 0.02);
                    if (t.bias is not null)
                    {
                        nn.init.zeros_(t.bias);
                    }

                    break;
                case BatchNorm2d bn:
                    nn.init.normal_(bn.weight, 1.0, 0.02);
                    nn.init.zeros_(bn.bias);
                    break;
                case Linear lin:
                    nn.init.normal_(lin.weight, 0.0, 0.02);
                    if (lin.bias is not null)
                    {
                        nn.init.zeros_(lin.bias);
                    }

                    break;
            }
        }
    }
}
