namespace DivideAssemble;

/// <summary>
/// The one rule that turns normal images into a validation split without a test set: every fifth image is
/// held back and shown as it is and with a synthetic defect (<see cref="SyntheticDefects"/>); the others
/// train. Model selection and the data-set loaders' validation splits both use it.
/// </summary>
internal static class SyntheticValidation
{
    /// <summary>The fewest normal images a split accepts: every fifth is held back, and a validation set needs two.</summary>
    public const int MinimumImages = 10;

    /// <summary>The indices that train and the indices held back (every fifth, from the fifth on) of <paramref name="count"/> images.</summary>
    public static (int[] Fit, int[] Held) Split(int count) =>
        (Enumerable.Range(0, count).Where(i => i % 5 != 4).ToArray(), Enumerable.Range(0, count).Where(i => i % 5 == 4).ToArray());

    /// <summary>The labelled validation images made from the held-back normal images.</summary>
    public static ILabeledImageSource Of(IImageSource held) => new SyntheticDefects(held);

    /// <summary>Describes a split of <paramref name="count"/> images for reports.</summary>
    public static string Describe(int count, int fit, int held) =>
        $"every fifth of {count} normal images held back, shown as it is and with a synthetic defect: {fit} training, {held} normal and {held} synthetic-defect validation images";
}
