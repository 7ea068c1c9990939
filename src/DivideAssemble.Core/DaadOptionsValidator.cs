using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace DivideAssemble;

/// <summary>
/// The one validator of <see cref="DaadOptions"/>: the data annotations of every options class plus the
/// rules that span properties (the network plan, the discriminator's size, the device). The builder,
/// dependency injection, model files and the network's constructor all report through it, so a
/// problem reads the same wherever it is found: the property's path, a colon, the reason.
/// </summary>
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

        Annotations(options, string.Empty, errors);
        if (options.Network is null)
        {
            errors.Add("Network: must not be null.");
        }
        else
        {
            errors.AddRange(Collect(options.Network).Select(e => "Network." + e));
        }

        if (options.Training is null)
        {
            errors.Add("Training: must not be null.");
        }
        else
        {
            Annotations(options.Training, "Training.", errors);
            if (options.Training.MinAnomalyOpacity > options.Training.MaxAnomalyOpacity)
            {
                errors.Add($"Training.MinAnomalyOpacity: {options.Training.MinAnomalyOpacity} is above MaxAnomalyOpacity {options.Training.MaxAnomalyOpacity}.");
            }

            if (!Enum.IsDefined(options.Training.MemoryInit))
            {
                errors.Add($"Training.MemoryInit: {(int)options.Training.MemoryInit} is not a defined memory initialisation.");
            }
        }

        if (options.Scoring is null)
        {
            errors.Add("Scoring: must not be null.");
        }
        else
        {
            Annotations(options.Scoring, "Scoring.", errors);
            // The names are checked here; whether a backend computes them, by the backend (a TorchSharp
            // model validates its scoring methods when it is built or loaded).
            if (options.Scoring.Pooling.Name.Length == 0)
            {
                errors.Add("Scoring.Pooling: must name a pooling (for example TopMean).");
            }

            if (options.Scoring.Residual.Name.Length == 0)
            {
                errors.Add("Scoring.Residual: must name a residual kind (for example LowPass).");
            }

            if (options.Scoring.HeadWeight > 0 && options.Network is { } network && !network.HasHead)
            {
                errors.Add($"Scoring.HeadWeight: {options.Scoring.HeadWeight} weighs a discriminative head, and this model has none (Network.HeadWidth is 0; a model file written before heads has none either).");
            }
        }

        if (options.Device is null || !DevicePattern().IsMatch(options.Device))
        {
            errors.Add($"Device: '{options.Device}' is not a device; use 'cpu', 'cuda' or 'cuda:N'.");
        }

        return errors;
    }

    /// <summary>
    /// Returns every validation error of the network options alone, each prefixed with the property's
    /// name (<c>ImageSize: …</c>); <see cref="Collect(DaadOptions?)"/> prefixes them with <c>Network.</c>.
    /// </summary>
    public static IReadOnlyList<string> Collect(NetworkOptions network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var errors = new List<string>();
        Annotations(network, string.Empty, errors);
        if (!Enum.IsDefined(network.Variant))
        {
            errors.Add($"Variant: {(int)network.Variant} is not a defined variant.");
        }

        if (network.MaxWidth < network.BaseWidth)
        {
            errors.Add($"MaxWidth: {network.MaxWidth} is below BaseWidth {network.BaseWidth}.");
        }

        if (network.MemoryScales is null)
        {
            errors.Add("MemoryScales: must not be null (use an empty list for every scale).");
        }
        else if (errors.Count == 0)
        {
            NetworkPlanner.Plan(network, errors);
        }

        if (network.ResolvedHeadWidth > 0 && network.ImageSize % (1 << Math.Clamp(network.HeadDepth, 0, 30)) != 0)
        {
            errors.Add($"HeadDepth: the discriminative head halves the image {network.HeadDepth} times, so ImageSize must be divisible by {1 << Math.Clamp(network.HeadDepth, 0, 30)}; got {network.ImageSize}.");
        }

        if (network.HasDiscriminator)
        {
            int s = network.ImageSize;
            if (s < 8 || s % 4 != 0 || ((s / 4) & ((s / 4) - 1)) != 0)
            {
                errors.Add($"ImageSize: DAAD+'s discriminator halves the image down to 4×4, so the size must be 4·2^k (k ≥ 1); got {s}.");
            }
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

    /// <summary>Adds the data-annotation errors of <paramref name="instance"/>, each as "prefix + Property: reason".</summary>
    internal static void Annotations(object instance, string prefix, List<string> errors)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(instance, new ValidationContext(instance), results, validateAllProperties: true);
        foreach (var r in results)
        {
            errors.Add($"{prefix}{r.MemberNames.FirstOrDefault() ?? string.Empty}: {r.ErrorMessage}");
        }
    }

    [GeneratedRegex("^(cpu|cuda(:[0-9]+)?)$", RegexOptions.CultureInvariant)]
    private static partial Regex DevicePattern();
}
