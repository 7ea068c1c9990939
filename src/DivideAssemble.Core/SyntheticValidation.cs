namespace DivideAssemble;

/// <summary>
/// The one rule that turns normal images into a validation split without a test set: every fifth image is
/// held back and shown as it is and with synthetic defects (<see cref="SyntheticDefects"/>); the others
/// train. Model selection and the data-set loaders' validation splits both use it.
/// </summary>
/// <remarks>
/// The validation defects are scratches and stains only: the anomalies training synthesises
/// (<c>TrainingOptions.SyntheticAnomalies</c>) are patches of other normal images and noise textures, close to the
/// blobs and cut-and-paste patches <see cref="SyntheticDefects"/> can also paint, so validating on those would
/// reward a model for recognising its own training anomalies. A split of fewer than 20 held-back images shows
/// each of them with two defects (one copy each), so the AUROC rests on at least 20 defects where it can.
/// </remarks>
internal static class SyntheticValidation
{
    /// <summary>The fewest normal images a split accepts: every fifth is held back, and a validation set needs two.</summary>
    public const int MinimumImages = 10;

    /// <summary>The indices that train and the indices held back (every fifth, from the fifth on) of <paramref name="count"/> images.</summary>
    public static (int[] Fit, int[] Held) Split(int count) =>
        (Enumerable.Range(0, count).Where(i => i % 5 != 4).ToArray(), Enumerable.Range(0, count).Where(i => i % 5 == 4).ToArray());

    /// <summary>The kinds of validation defect: families training never synthesises.</summary>
    public static readonly IReadOnlyList<SyntheticDefects.DefectKind> Kinds = new[] { SyntheticDefects.DefectKind.Scratch, SyntheticDefects.DefectKind.Stain };

    /// <summary>The labelled validation images made from the held-back normal images.</summary>
    public static SyntheticDefects Of(IImageSource held) => new(held, kinds: Kinds, defectsPerImage: DefectsPerImage(held.Count));

    /// <summary>Describes a split of <paramref name="count"/> images for reports.</summary>
    public static string Describe(int count, int fit, int held) =>
        $"every fifth of {count} normal images held back, shown as it is and with a synthetic scratch or stain: {fit} training, {held} normal and {held * DefectsPerImage(held)} synthetic-defect validation images";

    /// <summary>How many defective copies of each held-back image the split shows.</summary>
    public static int DefectsPerImage(int held) => held < 20 ? 2 : 1;
}
