using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DivideAssemble.Torch;

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
        var y = conv.call(input);
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

/// <summary>
/// BatchNorm over channels of <c>[B, C, H, W]</c> with running statistics (momentum 0.1, ε = 1e-5),
/// through the functional form. TorchSharp's <c>BatchNorm2d</c> increments its batch counter with
/// an implicitly converted <see cref="Scalar"/> on every training call, which its finalizer can free
/// during the native call (a crash seen in our training runs; docs/platforms.md). The counter only
/// matters when momentum is unset, so this module has none.
/// </summary>
internal sealed class SafeBatchNorm2d : nn.Module<Tensor, Tensor>
{
    private const double Momentum = 0.1;
    private const double Epsilon = 1e-5;

    // Field names are the state-dictionary keys (PyTorch's).
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;

    public SafeBatchNorm2d(long channels)
        : base(nameof(SafeBatchNorm2d))
    {
        weight = new Parameter(ones(channels));
        bias = new Parameter(zeros(channels));
        running_mean = zeros(channels);
        running_var = ones(channels);
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public Parameter Bias => bias;

    public override Tensor forward(Tensor input) =>
        nn.functional.batch_norm(input, running_mean, running_var, weight, bias, training, Momentum, Epsilon);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            running_mean.Dispose();
            running_var.Dispose();
        }

        base.Dispose(disposing);
    }
}
