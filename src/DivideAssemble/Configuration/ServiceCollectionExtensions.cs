using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DivideAssemble;

/// <summary>Registers DivideAssemble with a <see cref="IServiceCollection"/>.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DaadOptions"/> (validated by <see cref="DaadOptionsValidator"/> on start)
    /// and a singleton <see cref="IAnomalyDetector"/> built from them (untrained until fitted or loaded).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options; may be <see langword="null"/> for the defaults.</param>
    /// <returns>The options builder, to chain configuration binding or further validation.</returns>
    public static OptionsBuilder<DaadOptions> AddDivideAssemble(this IServiceCollection services, Action<DaadOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DaadOptions>, DaadOptionsValidator>());
        var builder = services.AddOptions<DaadOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.ValidateOnStart();
        services.TryAddSingleton<IAnomalyDetector>(sp =>
            new AnomalyDetector(
                sp.GetRequiredService<IOptions<DaadOptions>>().Value,
                sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()?.CreateLogger<AnomalyDetector>()));
        return builder;
    }
}
