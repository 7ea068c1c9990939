using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DivideAssemble.Evaluation;

/// <summary>
/// The result of evaluating a detector on a labelled test set: the standard metrics, counts,
/// settings, timing and one record per test image. Saved as JSON (camelCase) and Markdown.
/// A metric that does not apply (pixel metrics without masks) is <see langword="null"/>.
/// </summary>
public sealed record EvaluationReport
{
    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Print(this, builder);

    /// <summary>Gets the image-level AUROC.</summary>
    public required double ImageAuroc { get; init; }

    /// <summary>Gets the pixel-level AUROC over all test pixels at the masks' resolution, or <see langword="null"/> without masks.</summary>
    public double? PixelAuroc { get; init; }

    /// <summary>Gets the normalised AUPRO up to 30 % FPR, or <see langword="null"/> without masks.</summary>
    public double? Aupro { get; init; }

    /// <summary>Gets the highest image-level F1 over all thresholds.</summary>
    public required double F1Max { get; init; }

    /// <summary>Gets the score threshold that reaches <see cref="F1Max"/> (anomalous when score ≥ it).</summary>
    public required double F1Threshold { get; init; }

    /// <summary>Gets the image-level average precision.</summary>
    public required double AveragePrecision { get; init; }

    /// <summary>Gets the detector's calibrated decision threshold (from normal training-split images only), or <see langword="null"/> if uncalibrated.</summary>
    public double? Threshold { get; init; }

    /// <summary>Gets the accuracy of the detector's decisions at <see cref="Threshold"/>.</summary>
    public double? Accuracy { get; init; }

    /// <summary>Gets the number of normal test images.</summary>
    public required int NormalImages { get; init; }

    /// <summary>Gets the number of anomalous test images.</summary>
    public required int AnomalousImages { get; init; }

    /// <summary>Gets a description of the test data (path, format, class).</summary>
    public string? Dataset { get; init; }

    /// <summary>Gets the model's options.</summary>
    public required DaadOptions Settings { get; init; }

    /// <summary>Gets the wall-clock seconds spent scoring (decoding included).</summary>
    public required double ScoringSeconds { get; init; }

    /// <summary>Gets the scoring throughput in images per second.</summary>
    public required double ImagesPerSecond { get; init; }

    /// <summary>Gets the time the evaluation finished.</summary>
    public DateTimeOffset CreatedUtc { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>Gets one record per test image, in test-set order.</summary>
    public required IReadOnlyList<ImageRecord> Images { get; init; }

    /// <summary>Serialisation settings of reports: camelCase, enums as strings, indented. Read-only (a change would throw), so no caller can change how every report is written.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = ReadOnlyOptions();

    private static JsonSerializerOptions ReadOnlyOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Returns the report as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a report written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a report.</exception>
    public static EvaluationReport Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<EvaluationReport>(File.ReadAllText(path), JsonOptions)
                ?? throw new InvalidDataException($"'{path}' holds no report.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"'{path}' is not an evaluation report: {ex.Message}", ex);
        }
    }

    /// <summary>Writes the JSON report to <paramref name="path"/> and a Markdown twin next to it (<c>.md</c>), each atomically.</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string json = ToJson();
        AtomicFile.WriteAllText(path, json);
        AtomicFile.WriteAllText(Path.ChangeExtension(path, ".md"), ToMarkdown());
    }

    /// <summary>Returns the report as Markdown.</summary>
    public string ToMarkdown()
    {
        static string F(double? v) => v.HasValue ? v.Value.ToString("F4", CultureInfo.InvariantCulture) : "n/a";
        var n = Settings.Network;
        var sb = new StringBuilder();
        sb.AppendLine("# Evaluation report").AppendLine();
        if (Dataset is not null)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"Data: {Dataset}").AppendLine();
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"Model: {n.Variant}, {n.Channels}×{n.ImageSize}×{n.ImageSize}, depth {n.Depth}, width {n.BaseWidth}, division {n.DescribeDivision()}, N = {n.MemoryItems}, T = {n.MemoryTemperature}, {Settings.Training.Epochs} epochs.").AppendLine();
        sb.AppendLine("| metric | value |").AppendLine("|---|---|");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| image AUROC | {F(ImageAuroc)} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| pixel AUROC | {F(PixelAuroc)} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| AUPRO (30 % FPR) | {F(Aupro)} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| F1-max | {F(F1Max)} (threshold {F(F1Threshold)}) |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| average precision | {F(AveragePrecision)} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| calibrated threshold | {F(Threshold)} (accuracy {F(Accuracy)}) |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| test images | {NormalImages} normal, {AnomalousImages} anomalous |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| scoring | {ScoringSeconds:F1} s, {ImagesPerSecond:F1} images/s |").AppendLine();
        sb.AppendLine("| image | label | score | decision |").AppendLine("|---|---|---|---|");
        foreach (var r in Images)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Path ?? "#" + r.Index} | {(r.Label == 1 ? "anomalous" : "normal")} | {r.Score:G6} | {(r.IsAnomalous ? "anomalous" : "normal")} |");
        }

        return sb.ToString();
    }
}

/// <summary>One test image in a report.</summary>
public sealed record ImageRecord
{
    /// <summary>Gets the image's index in the test set.</summary>
    public required int Index { get; init; }

    /// <summary>Gets the image's path, when it came from a file.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Path { get; init; }

    /// <summary>Gets the label: 0 normal, 1 anomalous.</summary>
    public required int Label { get; init; }

    /// <summary>Gets the combined anomaly score (full round-trip precision).</summary>
    public required double Score { get; init; }

    /// <summary>Gets the raw reconstruction score R(x).</summary>
    public required double ReconstructionError { get; init; }

    /// <summary>Gets the raw alignment error L(x) (DAAD+ only).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? AlignmentError { get; init; }

    /// <summary>Gets the detector's decision at its calibrated threshold.</summary>
    public required bool IsAnomalous { get; init; }
}
