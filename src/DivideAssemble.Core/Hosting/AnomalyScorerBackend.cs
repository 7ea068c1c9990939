namespace DivideAssemble.Hosting;

/// <summary>
/// A way to load a trained model file as an <see cref="IAnomalyScorer"/>: the TorchSharp backend
/// (<c>TorchSharpBackend</c> in the DivideAssemble package) reads <c>.daad</c> model files, the ONNX
/// Runtime backend (<c>OnnxRuntimeBackend</c> in DivideAssemble.Onnx) reads exported <c>.onnx</c> files.
/// A file's backend is chosen by its content, never by its extension.
/// </summary>
public interface IAnomalyScorerBackend
{
    /// <summary>Gets the backend's name for messages (for example "TorchSharp").</summary>
    string Name { get; }

    /// <summary>Returns whether the file whose first bytes are <paramref name="head"/> is a model this backend reads.</summary>
    /// <param name="head">The file's first bytes (at most <see cref="ModelFiles.HeadLength"/>; fewer for a shorter file).</param>
    bool Recognizes(ReadOnlySpan<byte> head);

    /// <summary>Loads the model at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is damaged or not a model this backend reads; the message names the file and the field at fault.</exception>
    IAnomalyScorer Load(string path, AnomalyScorerOptions options);
}

/// <summary>Chooses a backend for a model file by its content.</summary>
public static class ModelFiles
{
    /// <summary>The number of leading bytes a backend looks at to recognise its files.</summary>
    public const int HeadLength = 64;

    /// <summary>Reads the first <see cref="HeadLength"/> bytes of <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    internal static byte[] ReadHead(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        using var stream = File.OpenRead(path);
        var head = new byte[HeadLength];
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return head[..read];
    }

    /// <summary>Returns the backend among <paramref name="backends"/> that reads the file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">No backend recognises the file; the message names the file and the backends tried.</exception>
    public static IAnomalyScorerBackend Choose(string path, IEnumerable<IAnomalyScorerBackend> backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        var head = ReadHead(path);
        var list = backends.ToList();
        foreach (var backend in list)
        {
            if (backend.Recognizes(head))
            {
                return backend;
            }
        }

        string kind = Describe(head);
        string tried = list.Count == 0 ? "no backend is registered" : "backends tried: " + string.Join(", ", list.Select(b => b.Name));
        throw new InvalidDataException($"'{path}' is {kind}, which none of the available backends reads ({tried}). Model files (.daad) need the TorchSharp backend (package DivideAssemble), exported ONNX models (.onnx) the ONNX Runtime backend (package DivideAssemble.Onnx).");
    }

    /// <summary>Loads <paramref name="path"/> with the backend that recognises its content.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">No backend recognises the file, or the file is damaged.</exception>
    public static IAnomalyScorer Load(string path, IEnumerable<IAnomalyScorerBackend> backends, AnomalyScorerOptions? options = null) =>
        Choose(path, backends).Load(path, options ?? new AnomalyScorerOptions { ModelPath = path });

    /// <summary>Whether <paramref name="head"/> starts like a DivideAssemble model file (<c>DAADMDL\n</c>).</summary>
    internal static bool IsDaadModel(ReadOnlySpan<byte> head) => head.StartsWith("DAADMDL\n"u8);

    /// <summary>Whether <paramref name="head"/> starts like an ONNX model (a protobuf <c>ModelProto</c> opening with its <c>ir_version</c> field).</summary>
    internal static bool IsOnnxModel(ReadOnlySpan<byte> head) => head.Length >= 2 && head[0] == 0x08 && head[1] is > 0 and < 0x80;

    private static string Describe(ReadOnlySpan<byte> head) =>
        head.Length == 0 ? "empty"
        : IsDaadModel(head) ? "a DivideAssemble model file"
        : IsOnnxModel(head) ? "an ONNX model"
        : "neither a DivideAssemble model file nor an ONNX model";
}
