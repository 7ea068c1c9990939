using Microsoft.Extensions.Options;

namespace DivideAssemble;

/// <summary>
/// The validator of <see cref="SelectionOptions"/>: its data annotations (through the same helper as
/// <see cref="DaadOptionsValidator"/>, so a problem reads the same) plus the rules over its lists.
/// </summary>
public sealed class SelectionOptionsValidator : IValidateOptions<SelectionOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SelectionOptions options)
    {
        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Returns every validation error of <paramref name="selection"/>, each "SelectionOptions.Property: reason" (empty when valid).</summary>
    /// <param name="selection">The options.</param>
    /// <returns>The errors.</returns>
    public static IReadOnlyList<string> Collect(SelectionOptions? selection)
    {
        var errors = new List<string>();
        if (selection is null)
        {
            errors.Add("SelectionOptions: the options object is null.");
            return errors;
        }

        DaadOptionsValidator.Annotations(selection, "SelectionOptions.", errors);
        if (selection.Budget is { } b && b <= TimeSpan.Zero)
        {
            errors.Add($"SelectionOptions.Budget: {b} must be positive.");
        }

        if (selection.Divisions is { Count: 0 })
        {
            errors.Add("SelectionOptions.Divisions: give at least one, or leave it null for the size-derived ones.");
        }

        if (selection.Residuals is null || selection.Residuals.Count == 0 || selection.Residuals.Any(r => r.Name.Length == 0))
        {
            errors.Add("SelectionOptions.Residuals: give at least one residual kind.");
        }

        if (selection.Poolings is null || selection.Poolings.Count == 0 || selection.Poolings.Any(p => p.Name.Length == 0))
        {
            errors.Add("SelectionOptions.Poolings: give at least one pooling.");
        }

        if (selection.HeadWeights is null || selection.HeadWeights.Count == 0 || selection.HeadWeights.Any(w => w is < 0 or > 1 || double.IsNaN(w)))
        {
            errors.Add("SelectionOptions.HeadWeights: give at least one weight in [0, 1].");
        }

        if (selection.TopFractions is null || selection.TopFractions.Count == 0 || selection.TopFractions.Any(f => f is <= 0 or > 1 || double.IsNaN(f)))
        {
            errors.Add("SelectionOptions.TopFractions: give at least one fraction in (0, 1].");
        }

        return errors;
    }

    /// <summary>Throws one <see cref="ArgumentException"/> listing every problem, if any.</summary>
    /// <param name="selection">The options.</param>
    /// <param name="parameter">The parameter name for the exception.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static void ThrowIfInvalid(SelectionOptions? selection, string parameter)
    {
        var errors = Collect(selection);
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid selection options: " + string.Join(" ", errors), parameter);
        }
    }
}
