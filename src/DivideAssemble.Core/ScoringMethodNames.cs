using System.Text.Json;
using System.Text.Json.Serialization;

namespace DivideAssemble;

/// <summary>
/// How one image's reconstruction score R(x) is pooled from its per-pixel anomaly map, by name. The
/// library computes <see cref="Mean"/>, <see cref="Max"/> and <see cref="TopMean"/>; a name is what
/// model files, ONNX metadata and the command line store (docs/scoring.md).
/// </summary>
[JsonConverter(typeof(ScoringMethodNameConverter<ImageScorePooling>))]
public readonly struct ImageScorePooling : IEquatable<ImageScorePooling>, IScoringMethodName<ImageScorePooling>
{
    private readonly string? name;

    /// <summary>Initializes a new instance of the <see cref="ImageScorePooling"/> struct.</summary>
    /// <param name="name">The pooling's name (compared without regard to case; a built-in name takes its own spelling).</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public ImageScorePooling(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        this.name = Spelling(name, "Mean", "Max", "TopMean");
    }

    /// <summary>Gets the mean of the raw map over all pixels (the paper's R(x), a mean squared error).</summary>
    public static ImageScorePooling Mean { get; } = new("Mean");

    /// <summary>Gets the maximum of the smoothed map: sensitive to small local defects.</summary>
    public static ImageScorePooling Max { get; } = new("Max");

    /// <summary>Gets the mean of the highest <see cref="ScoringOptions.TopFraction"/> of the smoothed map's values.</summary>
    public static ImageScorePooling TopMean { get; } = new("TopMean");

    /// <summary>Gets the name (empty for the default value, which names no pooling).</summary>
    public string Name => name ?? string.Empty;

    /// <summary>Compares two poolings by name.</summary>
    public static bool operator ==(ImageScorePooling left, ImageScorePooling right) => left.Equals(right);

    /// <summary>Compares two poolings by name.</summary>
    public static bool operator !=(ImageScorePooling left, ImageScorePooling right) => !left.Equals(right);

    /// <inheritdoc />
    static ImageScorePooling IScoringMethodName<ImageScorePooling>.FromName(string name) => new(name);

    /// <inheritdoc />
    static ImageScorePooling IScoringMethodName<ImageScorePooling>.FromLegacyNumber(int value) => value switch
    {
        0 => Mean,
        1 => Max,
        2 => TopMean,
        _ => throw new JsonException($"{value} is not a pooling number (0 Mean, 1 Max, 2 TopMean)."),
    };

    /// <inheritdoc />
    public bool Equals(ImageScorePooling other) => string.Equals(Name, other.Name, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ImageScorePooling other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.OrdinalIgnoreCase.GetHashCode(Name);

    /// <inheritdoc />
    public override string ToString() => Name;

    /// <summary>The built-in spelling of <paramref name="name"/> when it is one of <paramref name="builtIn"/> (in any case), else the name as given.</summary>
    internal static string Spelling(string name, params string[] builtIn) =>
        builtIn.FirstOrDefault(b => string.Equals(b, name, StringComparison.OrdinalIgnoreCase)) ?? name;
}

/// <summary>
/// What the residual map measures before it is pooled, by name: <see cref="LowPass"/> or
/// <see cref="MultiScale"/> (docs/scoring.md).
/// </summary>
[JsonConverter(typeof(ScoringMethodNameConverter<ResidualKind>))]
public readonly struct ResidualKind : IEquatable<ResidualKind>, IScoringMethodName<ResidualKind>
{
    private readonly string? name;

    /// <summary>Initializes a new instance of the <see cref="ResidualKind"/> struct.</summary>
    /// <param name="name">The residual's name (compared without regard to case; a built-in name takes its own spelling).</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public ResidualKind(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        this.name = ImageScorePooling.Spelling(name, "LowPass", "MultiScale");
    }

    /// <summary>Gets the squared residual low-passed at one scale, <see cref="ScoringOptions.ResidualSigma"/> (σ = 0: the paper's raw squared error).</summary>
    public static ResidualKind LowPass { get; } = new("LowPass");

    /// <summary>
    /// Gets the squared residual low-passed at four scales (σ/2, σ, 2σ, 4σ with σ = <see cref="ScoringOptions.ResidualSigma"/>),
    /// each divided by its 99th percentile over held-back normal pixels, and the largest of the four kept
    /// per pixel: a faint defect that is clear at one scale is not drowned by texture at another.
    /// </summary>
    public static ResidualKind MultiScale { get; } = new("MultiScale");

    /// <summary>Gets the name (empty for the default value, which names no residual).</summary>
    public string Name => name ?? string.Empty;

    /// <summary>Compares two residual kinds by name.</summary>
    public static bool operator ==(ResidualKind left, ResidualKind right) => left.Equals(right);

    /// <summary>Compares two residual kinds by name.</summary>
    public static bool operator !=(ResidualKind left, ResidualKind right) => !left.Equals(right);

    /// <inheritdoc />
    static ResidualKind IScoringMethodName<ResidualKind>.FromName(string name) => new(name);

    /// <inheritdoc />
    static ResidualKind IScoringMethodName<ResidualKind>.FromLegacyNumber(int value) => value switch
    {
        0 => LowPass,
        1 => MultiScale,
        _ => throw new JsonException($"{value} is not a residual kind number (0 LowPass, 1 MultiScale)."),
    };

    /// <inheritdoc />
    public bool Equals(ResidualKind other) => string.Equals(Name, other.Name, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ResidualKind other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.OrdinalIgnoreCase.GetHashCode(Name);

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A scoring method's name as options store it.</summary>
/// <typeparam name="T">The name type.</typeparam>
internal interface IScoringMethodName<T>
    where T : struct, IScoringMethodName<T>
{
    /// <summary>Gets the name.</summary>
    string Name { get; }

    /// <summary>Makes a name.</summary>
    /// <param name="name">The text.</param>
    /// <returns>The name.</returns>
    static abstract T FromName(string name);

    /// <summary>Reads the number an enum of earlier versions would have written.</summary>
    /// <param name="value">The number.</param>
    /// <returns>The name.</returns>
    static abstract T FromLegacyNumber(int value);
}

/// <summary>
/// Writes a scoring method's name as a JSON string (through the serializer's naming policy, as enums are
/// written: reports say <c>topMean</c>, model files <c>TopMean</c>); reads a string in any case, or the
/// number an enum of earlier versions could write.
/// </summary>
/// <typeparam name="T">The name type.</typeparam>
internal sealed class ScoringMethodNameConverter<T> : JsonConverter<T>
    where T : struct, IScoringMethodName<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String when reader.GetString() is { Length: > 0 } text => T.FromName(text),
        JsonTokenType.Number when reader.TryGetInt32(out int value) => T.FromLegacyNumber(value),
        _ => throw new JsonException($"Expected the name of a {typeof(T).Name}."),
    };

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
        writer.WriteStringValue(options.PropertyNamingPolicy?.ConvertName(value.Name) ?? value.Name);
}
