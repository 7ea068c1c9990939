using System.Text.Json;

namespace DivideAssemble.Selection;

/// <summary>
/// What a selection has done so far, stored atomically in a state file after every candidate so an
/// interrupted selection continues where it stopped; a file of another selection (other options or data,
/// told by its signature) is refused.
/// </summary>
internal sealed class SelectionState
{
    public string Signature { get; set; } = string.Empty;

    public double? StepSeconds { get; set; }

    public double SecondsSpent { get; set; }

    public List<string> Done { get; set; } = new();

    public List<double> CandidateSeconds { get; set; } = new();

    public List<SelectionCandidate> Rows { get; set; } = new();

    /// <summary>What a state file must match to be continued: the options, the selection options and the data's shape.</summary>
    public static string SignatureOf(DaadOptions options, SelectionOptions selection, int train, int validation, int all, string description) =>
        JsonSerializer.Serialize(new { options = ModelMetadata.OptionsToJson(options), selection = JsonSerializer.Serialize(selection, ModelMetadata.Json), train, validation, all, description });

    /// <summary>Reads the state at <paramref name="path"/>, or starts a new one when there is no file (or no path).</summary>
    /// <exception cref="ArgumentException">The file is not valid JSON or belongs to another selection.</exception>
    public static SelectionState Load(string? path, string signature)
    {
        if (path is null || !File.Exists(path))
        {
            return new SelectionState { Signature = signature };
        }

        SelectionState? state;
        try
        {
            state = JsonSerializer.Deserialize<SelectionState>(File.ReadAllText(path), ModelMetadata.Json);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"The selection state file '{path}' is not valid JSON ({ex.Message}); delete it to start over.", nameof(path), ex);
        }

        if (state is null || state.Signature != signature)
        {
            throw new ArgumentException($"The selection state file '{path}' belongs to another selection (other options or data); delete it to start over.", nameof(path));
        }

        return state;
    }

    /// <summary>Writes the state atomically (nothing without a path).</summary>
    public void Save(string? path)
    {
        if (path is not null)
        {
            AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, ModelMetadata.Json));
        }
    }
}
