using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Torch;

/// <summary>Explicit scalar arithmetic: each <see cref="Scalar"/> lives until the call that uses it returns.</summary>
internal static class ScalarMath
{
    /// <summary>The alpha of plain additions, alive for the whole process (TorchSharp's one-argument <c>add</c> converts 1 implicitly).</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>−1, alive for the whole process: the value of in-place subtractions such as <c>addcmul_(a, b, MinusOne)</c>.</summary>
    public static readonly Scalar MinusOne = (-1).ToScalar();

    /// <summary>0, alive for the whole process: the value of <c>masked_fill_</c> and similar calls.</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary><c>a + b</c> without TorchSharp's implicit alpha.</summary>
    public static Tensor Sum(Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>x²</c> elementwise (TorchSharp's <c>square()</c> converts the exponent implicitly).</summary>
    public static Tensor Square(Tensor x) => x.mul(x);

    public static Tensor Mul(Tensor t, double value)
    {
        using var s = value.ToScalar();
        return t.mul(s);
    }

    public static Tensor Div(Tensor t, double value)
    {
        using var s = value.ToScalar();
        return t.div(s);
    }

    public static Tensor Sub(Tensor t, double value)
    {
        using var s = value.ToScalar();
        return t.sub(s);
    }

    public static Tensor Add(Tensor t, double value)
    {
        using var s = value.ToScalar();
        return t.add(s, One);
    }

    public static Tensor ClampMin(Tensor t, double value)
    {
        using var s = value.ToScalar();
        return t.clamp_min(s);
    }
}
