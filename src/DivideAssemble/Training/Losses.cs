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
    /// What the generator is trained on before any adversarial term: L_rec, and with restoration
    /// L_rec + (1 − SSIM) (DRAEM's restoration loss), between the target and the reconstruction.
    /// </summary>
    public static Tensor Generator(Tensor target, Tensor reconstruction, bool restoration)
    {
        var rec = Reconstruction(target, reconstruction);
        return restoration ? ScalarMath.Sum(rec, ScalarMath.Add(Ssim(reconstruction, target).neg(), 1)) : rec;
    }

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

    /// <summary>
    /// The mean structural similarity (Wang et al. 2004) of images <c>[B, C, S, S]</c> in [-1, 1] (data range 2):
    /// local means, variances and covariance under an 11×11 Gaussian window of σ 1.5 (population moments),
    /// C1 = (0.01·2)², C2 = (0.03·2)², averaged over every channel and every window position that lies inside
    /// the image — scikit-image's <c>structural_similarity(gaussian_weights=True, sigma=1.5,
    /// use_sample_covariance=False, data_range=2)</c>, which <c>SsimTests</c> checks against.
    /// </summary>
    public static Tensor Ssim(Tensor x, Tensor y)
    {
        const double C1 = 0.0004, C2 = 0.0036;
        long s = x.shape[^1];
        var (k, _) = AnomalyMaps.GaussianKernel(1.5, s);

        // The separable window as two matrix products with a band matrix [S, S − K + 1] (column j holds the kernel
        // from row j on): a depthwise convolution would have C output channels, and oneDNN's input gradient of such a
        // convolution reads uninitialised memory (docs/platforms.md) — it broke most restoration runs on AVX-512.
        long n = s - k.Length + 1;
        var bandValues = new float[s * n];
        for (long j = 0; j < n; j++)
        {
            for (int t = 0; t < k.Length; t++)
            {
                bandValues[((j + t) * n) + j] = k[t];
            }
        }

        using var scope = NewDisposeScope();
        var band = tensor(bandValues, new long[] { s, n }, device: x.device).to(x.dtype);
        var bandT = band.t();
        Tensor Filter(Tensor t) => bandT.matmul(t).matmul(band);
        var muX = Filter(x);
        var muY = Filter(y);
        var muXY = muX.mul(muY);
        var muX2 = ScalarMath.Square(muX);
        var muY2 = ScalarMath.Square(muY);
        var varX = Filter(ScalarMath.Square(x)).sub(muX2);
        var varY = Filter(ScalarMath.Square(y)).sub(muY2);
        var cov = Filter(x.mul(y)).sub(muXY);
        var numerator = ScalarMath.Add(ScalarMath.Mul(muXY, 2), C1).mul(ScalarMath.Add(ScalarMath.Mul(cov, 2), C2));
        var denominator = ScalarMath.Add(ScalarMath.Sum(muX2, muY2), C1).mul(ScalarMath.Add(ScalarMath.Sum(varX, varY), C2));
        return numerator.div(denominator).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The binary focal loss (Lin et al. 2017, γ = 2, no class weighting, as DRAEM trains its
    /// discriminative network): the mean over pixels of <c>−(1 − p_t)^γ · log p_t</c>, from logits
    /// <c>[B, 1, S, S]</c> and a 0/1 target of the same shape; computed through log-sigmoids, so it stays finite.
    /// </summary>
    public static Tensor Focal(Tensor logits, Tensor target, double gamma = 2)
    {
        using var scope = NewDisposeScope();
        var logP = nn.functional.logsigmoid(logits);
        var logNotP = nn.functional.logsigmoid(logits.neg());
        var logPt = ScalarMath.Sum(target.mul(logP), ScalarMath.Add(target.neg(), 1).mul(logNotP));
        using var exponent = gamma.ToScalar();
        var weight = ScalarMath.Add(logPt.exp().neg(), 1).pow(exponent);
        return weight.mul(logPt).mean().neg().MoveToOuterDisposeScope();
    }
}
