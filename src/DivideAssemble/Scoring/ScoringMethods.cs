using System.Globalization;

namespace DivideAssemble.Scoring;

/// <summary>
/// The scoring methods this library computes, registered once: every place that scores, exports,
/// selects or parses a method (the scorer, the ONNX exporter, model selection, the command line) looks
/// its name up here, so adding a method is its own file plus one line in <see cref="BuiltIn"/>.
/// </summary>
/// <remarks>
/// The built-in set never changes. Tests may add a method for the code that runs inside a
/// <see cref="Use"/> scope (the scope flows with the async context, so nothing outside it — and no
/// other test — sees the method).
/// </remarks>
internal sealed class ScoringMethods
{
    private static readonly ScoringMethods BuiltIn = new(
        new PoolingMethod[]
        {
            new MeanPooling(),
            new MaxPooling(),
            new TopMeanPooling(),
        },
        new ResidualMethod[]
        {
            new LowPassResidual(),
            new MultiScaleResidual(),
        });

    private static readonly AsyncLocal<ScoringMethods?> Scoped = new();

    private ScoringMethods(IReadOnlyList<PoolingMethod> poolings, IReadOnlyList<ResidualMethod> residuals)
    {
        Poolings = poolings;
        Residuals = residuals;
    }

    /// <summary>Gets the methods in force: the built-in ones, plus any a test scope added.</summary>
    public static ScoringMethods Current => Scoped.Value ?? BuiltIn;

    /// <summary>Gets the poolings, in registration order.</summary>
    public IReadOnlyList<PoolingMethod> Poolings { get; }

    /// <summary>Gets the residual kinds, in registration order.</summary>
    public IReadOnlyList<ResidualMethod> Residuals { get; }

    /// <summary>Adds methods for the code that runs in this async context until the returned scope is disposed (tests only).</summary>
    public static IDisposable Use(IEnumerable<PoolingMethod>? poolings = null, IEnumerable<ResidualMethod>? residuals = null)
    {
        var previous = Scoped.Value;
        var current = Current;
        Scoped.Value = new ScoringMethods(current.Poolings.Concat(poolings ?? Array.Empty<PoolingMethod>()).ToList(), current.Residuals.Concat(residuals ?? Array.Empty<ResidualMethod>()).ToList());
        return new Restore(() => Scoped.Value = previous);
    }

    /// <summary>The pooling named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No registered pooling has that name.</exception>
    public PoolingMethod Pooling(ImageScorePooling name) =>
        Poolings.FirstOrDefault(p => p.Name == name)
        ?? throw new ArgumentException($"Scoring.Pooling: '{name}' is not a pooling this library computes; use {Names(Poolings.Select(p => p.Name.Name))}.", nameof(name));

    /// <summary>The residual kind named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No registered residual kind has that name.</exception>
    public ResidualMethod Residual(ResidualKind name) =>
        Residuals.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"Scoring.Residual: '{name}' is not a residual kind this library computes; use {Names(Residuals.Select(r => r.Name.Name))}.", nameof(name));

    /// <summary>The pooling a command line names by its name or an alias (any case), or <see langword="null"/>.</summary>
    public PoolingMethod? FindPooling(string text) =>
        Poolings.FirstOrDefault(p => string.Equals(p.Name.Name, text, StringComparison.OrdinalIgnoreCase) || p.Aliases.Contains(text, StringComparer.OrdinalIgnoreCase));

    /// <summary>The names a command line accepts for poolings: each pooling's first alias, else its name, in lower case.</summary>
    public IReadOnlyList<string> PoolingWords() => Poolings.Select(p => p.Aliases.Count > 0 ? p.Aliases[0] : p.Name.Name.ToLower(CultureInfo.InvariantCulture)).ToList();

    /// <summary>Every problem of the scoring options' methods: unknown names, and each method's own rules.</summary>
    public IReadOnlyList<string> Collect(ScoringOptions? scoring)
    {
        var errors = new List<string>();
        if (scoring is null || scoring.Pooling.Name.Length == 0 || scoring.Residual.Name.Length == 0)
        {
            return errors; // the options validator reports missing names
        }

        var pooling = Poolings.FirstOrDefault(p => p.Name == scoring.Pooling);
        var residual = Residuals.FirstOrDefault(r => r.Name == scoring.Residual);
        if (pooling is null)
        {
            errors.Add($"Scoring.Pooling: '{scoring.Pooling}' is not a pooling this library computes; use {Names(Poolings.Select(p => p.Name.Name))}.");
        }
        else
        {
            errors.AddRange(pooling.Validate(scoring));
        }

        if (residual is null)
        {
            errors.Add($"Scoring.Residual: '{scoring.Residual}' is not a residual kind this library computes; use {Names(Residuals.Select(r => r.Name.Name))}.");
        }
        else
        {
            errors.AddRange(residual.Validate(scoring));
        }

        return errors;
    }

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count == 1 ? list[0] : string.Join(", ", list.Take(list.Count - 1)) + " or " + list[^1];
    }

    private sealed class Restore(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
