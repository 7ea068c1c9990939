using DivideAssemble.Scoring;
using DivideAssemble.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Training;

/// <summary>The losses of DAAD/DAAD+ (eq. 3–6).</summary>
internal static class Losses
{
    /// <summary>L_rec: mean squared error between images and reconstructions (the paper's L2 loss, averaged per pixel).</summary>
    public static Tensor Reconstruction(Tensor images, Tensor reconstructions) => nn.functional.mse_loss(reconstructions, images);

    /// <summary>
    /// The generator's side of L_adv as eq. 4 writes it: minimise E[log(1 − D(G(x)))] = −E[softplus(logit)].
    /// Its gradient fades when the discriminator confidently rejects a reconstruction, so the
    /// adversarial term nudges rather than overrides reconstruction (docs/defaults.md).
    /// </summary>
    public static Tensor GeneratorAdversarial(Tensor fakeLogits) =>
        -nn.functional.binary_cross_entropy_with_logits(fakeLogits, zeros_like(fakeLogits)); // BCE(l, 0) = softplus(l)

    /// <summary>The discriminator's side of L_adv: −log D(x) − log(1 − D(G(x))).</summary>
    public static Tensor Discriminator(Tensor realLogits, Tensor fakeLogits) =>
        ScalarMath.Sum(
            nn.functional.binary_cross_entropy_with_logits(realLogits, ones_like(realLogits)),
            nn.functional.binary_cross_entropy_with_logits(fakeLogits, zeros_like(fakeLogits)));

    /// <summary>L_ali: mean squared difference of the discriminator features of input and reconstruction, normalised as <see cref="FeatureAlignment"/> does for the score.</summary>
    public static Tensor Alignment(Tensor realFeatures, Tensor fakeFeatures, bool normalize) =>
        nn.functional.mse_loss(normalize ? FeatureAlignment.UnitLength(fakeFeatures) : fakeFeatures, normalize ? FeatureAlignment.UnitLength(realFeatures) : realFeatures);
}
