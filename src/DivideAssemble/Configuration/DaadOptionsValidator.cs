using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace DivideAssemble;

/// <summary>Validates <see cref="DaadOptions"/>, reporting every problem at once, each prefixed with the property's path.</summary>
public sealed partial class DaadOptionsValidator : IValidateOptions<DaadOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DaadOptions options)
    {
        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Returns every validation error of <paramref name="options"/> (empty when valid).</summary>
    public static IReadOnlyList<string> Collect(DaadOptions? options)
    {
        var errors = new List<string>();
        if (options is null)
        {
            errors.Add("DaadOptions: the options object is null.");
            return errors;
        }

        Annotations(options, "DaadOptions", errors);
        if (options.Network is null || options.Training is null || options.Scoring is null)
        {
            if (options.Network is null)
            {
                errors.Add("Network: must not be null.");
            }

            if (options.Training is null)
            {
                errors.Add("Training: must not be null.");
            }

            if (options.Scoring is null)
            {
                errors.Add("Scoring: must not be null.");
            }

            return errors;
        }

        Annotations(options.Network, "Network", errors);
        Annotations(options.Training, "Training", errors);
        Annotations(options.Scoring, "Scoring", errors);

        var net = options.Network;
        if (!Enum.IsDefined(net.Variant))
        {
            errors.Add($"Network.Variant: {(int)net.Variant} is not a defined variant.");
        }

        if (!Enum.IsDefined(options.Scoring.Pooling))
        {
            errors.Add($"Scoring.Pooling: {(int)options.Scoring.Pooling} is not a defined pooling.");
        }

        if (net.MaxWidth < net.BaseWidth)
        {
            errors.Add($"Network.MaxWidth: {net.MaxWidth} is below Network.BaseWidth {net.BaseWidth}.");
        }

        if (net.MemoryScales is null)
        {
            errors.Add("Network.MemoryScales: must not be null (use an empty list for every scale).");
        }
        else if (errors.Count == 0 || !errors.Any(e => e.StartsWith("Network.", StringComparison.Ordinal)))
        {
            var planErrors = new List<string>();
            NetworkPlanner.Plan(net, planErrors);
            errors.AddRange(planErrors.Select(e => "Network." + e));
        }

        if (net.HasDiscriminator)
        {
            int s = net.ImageSize;
            if (s < 8 || s % 4 != 0 || ((s / 4) & ((s / 4) - 1)) != 0)
            {
                errors.Add($"Network.ImageSize: DAAD+'s discriminator halves the image down to 4×4, so the size must be 4·2^k (k ≥ 1); got {s}.");
            }
        }

        if (options.Device is null || !DevicePattern().IsMatch(options.Device))
        {
            errors.Add($"Device: '{options.Device}' is not a device; use 'cpu', 'cuda' or 'cuda:N'.");
        }

        return errors;
    }

    /// <summary>Throws one <see cref="OptionsValidationException"/> listing every problem, if any.</summary>
    /// <exception cref="OptionsValidationException">The options are invalid.</exception>
    public static void ThrowIfInvalid(DaadOptions options)
    {
        var errors = Collect(options);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(DaadOptions), errors);
        }
    }

    private static void Annotations(object instance, string prefix, List<string> errors)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(instance, new ValidationContext(instance), results, validateAllProperties: true);
        foreach (var r in results)
        {
            string member = r.MemberNames.FirstOrDefault() ?? string.Empty;
            string path = prefix == "DaadOptions" ? member : $"{prefix}.{member}";
            errors.Add($"{path}: {r.ErrorMessage}");
        }
    }

    [GeneratedRegex("^(cpu|cuda(:[0-9]+)?)$", RegexOptions.CultureInvariant)]
    private static partial Regex DevicePattern();
}
