using DivideAssemble.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Scoring;

/// <summary>
/// The comparison of discriminator features f_D(x) and f_D(x̂) that DAAD+ uses twice: as the alignment
/// loss L_ali in training and as the alignment score L(x) in scoring. Both read the one setting
/// <see cref="TrainingOptions.NormalizeFeatures"/>, so they cannot disagree.
/// </summary>
internal static class FeatureAlignment
{
    /// <summary>Scales each row to unit L2 norm (rows of norm below 1e-12 are divided by 1e-12).</summary>
    public static Tensor UnitLength(Tensor features) => features / ScalarMath.ClampMin(features.norm(1, keepdim: true, p: 2), 1e-12);

    /// <summary>Per image, the mean squared difference of the (optionally L2-normalised) features: <c>[B]</c>.</summary>
    public static Tensor PerImage(Tensor realFeatures, Tensor fakeFeatures, bool normalize)
    {
        var real = normalize ? UnitLength(realFeatures) : realFeatures;
        var fake = normalize ? UnitLength(fakeFeatures) : fakeFeatures;
        return ScalarMath.Square(real - fake).mean(new long[] { 1 });
    }
}
