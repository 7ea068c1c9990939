using Microsoft.Extensions.Options;

namespace DivideAssemble.Scoring;

/// <summary>
/// The validation of options a TorchSharp model is built, loaded or rescored with: every rule of
/// <see cref="DaadOptionsValidator"/> plus those of the scoring methods it computes (their names must be
/// registered in <see cref="ScoringMethods"/>, and each method checks its own settings).
/// </summary>
internal static class ScoringRules
{
    /// <summary>Returns every problem of <paramref name="options"/> (empty when valid).</summary>
    public static IReadOnlyList<string> Collect(DaadOptions options)
    {
        var errors = DaadOptionsValidator.Collect(options).ToList();
        errors.AddRange(ScoringMethods.Current.Collect(options?.Scoring));
        return errors;
    }

    /// <summary>Throws one <see cref="OptionsValidationException"/> listing every problem, if any.</summary>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    public static void ThrowIfInvalid(DaadOptions options)
    {
        var errors = Collect(options);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(DaadOptions), errors);
        }
    }
}
