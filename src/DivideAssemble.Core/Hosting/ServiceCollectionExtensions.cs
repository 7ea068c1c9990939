using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DivideAssemble.Hosting;

/// <summary>Registers DivideAssemble with a <see cref="IServiceCollection"/>.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="IAnomalyScorer"/> loaded from <see cref="AnomalyScorerOptions.ModelPath"/>
    /// when the host starts: the options are validated on start (the path is set, the file exists, and a
    /// registered backend reads it), then the model is loaded, so a bad path or a damaged file stops the
    /// host with a message naming the file. Add at least one backend to the returned builder
    /// (<c>.AddTorchSharp()</c> from the DivideAssemble package, <c>.AddOnnxRuntime()</c> from
    /// DivideAssemble.Onnx); with both, the file's content chooses.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the model path and device (or bind <see cref="AnomalyScorerOptions"/> from configuration on the returned builder's <see cref="DivideAssembleBuilder.Options"/>).</param>
    /// <returns>A builder to add backends to.</returns>
    public static DivideAssembleBuilder AddDivideAssemble(this IServiceCollection services, Action<AnomalyScorerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<AnomalyScorerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AnomalyScorerOptions>, AnomalyScorerOptionsValidator>());
        services.TryAddSingleton<IAnomalyScorer>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<AnomalyScorerOptions>>().Value;
            return ModelFiles.Load(o.ModelPath, sp.GetServices<IAnomalyScorerBackend>(), o);
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ModelWarmUp>());
        return new DivideAssembleBuilder(services, options);
    }

    /// <summary>
    /// Registers <see cref="DaadOptions"/> (for applications that train) validated by <see cref="DaadOptionsValidator"/>
    /// when the host starts; bind them from configuration on the returned builder.
    /// </summary>
    public static OptionsBuilder<DaadOptions> AddDaadOptions(this IServiceCollection services, Action<DaadOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DaadOptions>, DaadOptionsValidator>());
        var builder = services.AddOptions<DaadOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        return builder.ValidateOnStart();
    }

    /// <summary>Loads the model when the host starts, so the first request does not pay for it and a bad file stops the start.</summary>
    private sealed class ModelWarmUp : IHostedService
    {
        private readonly IServiceProvider services;

        public ModelWarmUp(IServiceProvider services) => this.services = services;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = services.GetRequiredService<IAnomalyScorer>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>The result of <see cref="ServiceCollectionExtensions.AddDivideAssemble"/>: add backends to it.</summary>
public sealed class DivideAssembleBuilder
{
    internal DivideAssembleBuilder(IServiceCollection services, OptionsBuilder<AnomalyScorerOptions> options)
    {
        Services = services;
        Options = options;
    }

    /// <summary>Gets the service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Gets the options builder of the model's options (to bind them from configuration).</summary>
    public OptionsBuilder<AnomalyScorerOptions> Options { get; }

    /// <summary>Registers a backend (the backends' packages add extension methods that call this).</summary>
    public DivideAssembleBuilder AddBackend(IAnomalyScorerBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        Services.AddSingleton(backend);
        return this;
    }
}

/// <summary>Validates <see cref="AnomalyScorerOptions"/> on start: the annotations, the file's existence, and that a registered backend reads it.</summary>
internal sealed class AnomalyScorerOptionsValidator : IValidateOptions<AnomalyScorerOptions>
{
    private readonly IEnumerable<IAnomalyScorerBackend> backends;

    public AnomalyScorerOptionsValidator(IEnumerable<IAnomalyScorerBackend> backends) => this.backends = backends;

    public ValidateOptionsResult Validate(string? name, AnomalyScorerOptions options)
    {
        var errors = new List<string>();
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new System.ComponentModel.DataAnnotations.ValidationContext(options), results, validateAllProperties: true);
        errors.AddRange(results.Select(r => $"{r.MemberNames.FirstOrDefault()}: {r.ErrorMessage}"));
        if (errors.Count == 0)
        {
            try
            {
                ModelFiles.Choose(options.ModelPath, backends);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                errors.Add($"ModelPath: {ex.Message}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
