using System.Text.Json;
using System.Text.Json.Serialization;

namespace DivideAssemble;

/// <summary>
/// What an exported model carries besides its graph, shared by the exporter and every runtime: the
/// metadata keys of an ONNX file, and the JSON form of the options and calibration (the same form the
/// <c>.daad</c> model file stores), so that a model reads the same whichever file it comes from.
/// </summary>
public static class ModelMetadata
{
    /// <summary>The version of this metadata schema.</summary>
    public const string SchemaVersion = "1";

    /// <summary>Key of the schema version.</summary>
    public const string SchemaKey = "divideassemble.schema";

    /// <summary>Key of the version of the library that exported the model.</summary>
    public const string LibraryVersionKey = "divideassemble.library_version";

    /// <summary>Key of the model's <see cref="DaadOptions"/> as JSON (<see cref="OptionsToJson"/>).</summary>
    public const string OptionsKey = "divideassemble.options";

    /// <summary>Key of the model's <see cref="ScoreCalibration"/> as JSON (<see cref="CalibrationToJson"/>).</summary>
    public const string CalibrationKey = "divideassemble.calibration";

    /// <summary>Key of the image threshold on the calibrated score (invariant number).</summary>
    public const string ImageThresholdKey = "divideassemble.image_threshold";

    /// <summary>Key of the anomaly-map threshold (invariant number).</summary>
    public const string PixelThresholdKey = "divideassemble.pixel_threshold";

    /// <summary>Key of the preprocessing contract as JSON (<see cref="PreprocessingContract"/>).</summary>
    public const string PreprocessingKey = "divideassemble.preprocessing";

    /// <summary>Key of the learnable parameter counts of the trained networks (<c>generator,discriminator</c>, and <c>,head</c> with a discriminative head).</summary>
    public const string ParametersKey = "divideassemble.parameters";

    /// <summary>Key of the <see cref="SelectionReport"/> as JSON, present when the model came from model selection.</summary>
    public const string SelectionKey = "divideassemble.selection";

    /// <summary>Key of the SHA-256 (hex) of the graph's bytes followed by every external data file's bytes; a loader refuses a file whose content does not match it.</summary>
    public const string ContentHashKey = "divideassemble.sha256";

    /// <summary>The graph's input: images <c>[N, C, S, S]</c>, float32 in [-1, 1].</summary>
    public const string InputName = "images";

    /// <summary>The calibrated score A(x) of eq. 7, <c>[N]</c>.</summary>
    public const string ScoresOutput = "scores";

    /// <summary>The raw reconstruction score R(x), <c>[N]</c>.</summary>
    public const string ReconstructionErrorOutput = "R";

    /// <summary>The raw alignment score L(x) (DAAD+ only), <c>[N]</c>.</summary>
    public const string AlignmentErrorOutput = "L";

    /// <summary>The raw memory distance M(x), <c>[N]</c> (only when the score uses it, see ScoringOptions.MemoryWeight).</summary>
    public const string MemoryDistanceOutput = "M";

    /// <summary>The raw head score H(x), <c>[N]</c> (only when the score uses the discriminative head, see ScoringOptions.HeadWeight).</summary>
    public const string HeadScoreOutput = "H";

    /// <summary>The anomaly maps, <c>[N, S, S]</c>: the residual's; with a discriminative head, its probability at head weight 1 and both mixed at 0 &lt; w &lt; 1 (ScoreCalibration.HeadMapScale).</summary>
    public const string MapsOutput = "maps";

    /// <summary>The reconstructions, <c>[N, C, S, S]</c>, in [-1, 1].</summary>
    public const string ReconstructionsOutput = "reconstructions";

    /// <summary>Gets the JSON settings of options and calibrations in model files: property names as declared, enums as strings.</summary>
    internal static JsonSerializerOptions Json { get; } = new()
    {
        WriteIndented = false,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Serialises options as model files store them.</summary>
    internal static string OptionsToJson(DaadOptions options) => JsonSerializer.Serialize(Stored(options), Json);

    /// <summary>
    /// The options as a model file or export stores them: a discriminative head's score weight and flip averaging written out.
    /// Files written before <see cref="ScoringOptions.DefaultHeadWeight"/> was 0.5 left it unset, which meant 1, and files
    /// written before <see cref="ScoringOptions.FlipAveraging"/> existed scored one view; so that every file says which, new
    /// files store both and <see cref="Restored"/> reads an unset weight as 1 and unset flip averaging as off.
    /// </summary>
    internal static DaadOptions Stored(DaadOptions options)
    {
        var stored = options.Clone();
        if (stored.Network.HasHead)
        {
            stored.Scoring.HeadWeight ??= stored.EffectiveHeadWeight();
        }

        stored.Scoring.FlipAveraging ??= ScoringOptions.DefaultFlipAveraging;
        return stored;
    }

    /// <summary>Reads stored options as they were meant (see <see cref="Stored"/>): a head model's unset score weight is 1, unset flip averaging off.</summary>
    internal static DaadOptions Restored(DaadOptions options)
    {
        if (options.Network.HasHead)
        {
            options.Scoring.HeadWeight ??= 1;
        }

        // Written before flip averaging: the model was calibrated on one view.
        options.Scoring.FlipAveraging ??= false;
        return options;
    }

    /// <summary>Reads options as model files store them and validates them.</summary>
    /// <exception cref="InvalidDataException">The text is not valid options JSON, or the options are invalid; the message says which and names <paramref name="source"/>.</exception>
    internal static DaadOptions OptionsFromJson(string json, string source)
    {
        DaadOptions? options;
        try
        {
            options = JsonSerializer.Deserialize<DaadOptions>(json, Json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source} holds options that are not valid JSON: {ex.Message}", ex);
        }

        if (options is null)
        {
            throw new InvalidDataException($"{source} holds no options.");
        }

        var problems = DaadOptionsValidator.Collect(options);
        if (problems.Count > 0)
        {
            throw new InvalidDataException($"{source} holds invalid options: {string.Join("; ", problems)}");
        }

        return Restored(options);
    }

    /// <summary>Serialises a calibration as model files store it.</summary>
    internal static string CalibrationToJson(ScoreCalibration calibration) => JsonSerializer.Serialize(calibration, Json);

    /// <summary>Reads a calibration as model files store it.</summary>
    /// <exception cref="InvalidDataException">The text is not a calibration, or one of its statistics is not finite (a deviation not positive); names <paramref name="source"/>.</exception>
    internal static ScoreCalibration CalibrationFromJson(string json, string source)
    {
        ScoreCalibration? calibration;
        try
        {
            calibration = JsonSerializer.Deserialize<ScoreCalibration>(json, Json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{source} holds a calibration that is not valid JSON: {ex.Message}", ex);
        }

        if (calibration is null
            || !double.IsFinite(calibration.ReconstructionMean) || !(calibration.ReconstructionStd > 0) || !double.IsFinite(calibration.ReconstructionStd)
            || !double.IsFinite(calibration.AlignmentMean) || !(calibration.AlignmentStd > 0) || !double.IsFinite(calibration.AlignmentStd)
            || !double.IsFinite(calibration.MemoryMean) || !(calibration.MemoryStd > 0) || !double.IsFinite(calibration.MemoryStd)
            || double.IsInfinity(calibration.Threshold) || calibration.ImageCount < 1
            || (calibration.HeadMapScale is { } headMapScale && !(double.IsFinite(headMapScale) && headMapScale > 0))
            || (calibration.ResidualNormalisers is { } normalisers && (normalisers.Count == 0 || normalisers.Any(n => !double.IsFinite(n) || n <= 0))))
        {
            throw new InvalidDataException($"{source} holds an invalid calibration (statistics must be finite, deviations, residual normalisers and the head map's scale positive, at least one image).");
        }

        return calibration;
    }
}

/// <summary>
/// The preprocessing a runtime must apply before the graph, as recorded in an exported model: the
/// one pixel path of <see cref="ImagePreprocessing"/>, written out for runtimes outside .NET.
/// </summary>
/// <param name="Channels">Channels of the input: 1 grey, 3 RGB, 4 RGBA.</param>
/// <param name="Size">Side S of the square input.</param>
/// <param name="Layout">Tensor layout of the input (<c>NCHW</c>).</param>
/// <param name="ValueRange">Range of the input values.</param>
/// <param name="Scale">How an 8-bit value becomes an input value.</param>
/// <param name="ChannelConversion">How channels are converted before resizing.</param>
/// <param name="Resize">The resize filter (see <see cref="ImagePreprocessing"/>).</param>
/// <param name="Order">The order of the steps.</param>
public sealed record PreprocessingContract(int Channels, int Size, string Layout, double[] ValueRange, string Scale, string ChannelConversion, string Resize, string Order)
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Print(this, builder);

    /// <summary>The contract of <see cref="ImagePreprocessing"/> for a model of <paramref name="channels"/>×<paramref name="size"/>×<paramref name="size"/>.</summary>
    public static PreprocessingContract For(int channels, int size) => new(
        channels,
        size,
        "NCHW",
        new[] { -1.0, 1.0 },
        "v / 127.5 - 1 for 8-bit values",
        $"RGB(A) to grey: {ImagePreprocessing.GreyConversion} on the scaled values; grey to RGB: copy; alpha dropped (set to 1 for 4-channel models)",
        $"{ImagePreprocessing.ResizeFilter}: triangle filter of radius max(1, in/out) input pixels around (i + 0.5)·in/out, weights normalised (PIL BILINEAR, torch interpolate antialias=True, align_corners=False); non-square images are stretched",
        "decode to 8 bits, scale to [-1, 1], convert channels, then resize");
}
