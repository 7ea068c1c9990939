using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DivideAssemble.Modules;
using DivideAssemble.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Persistence;

/// <summary>
/// The DivideAssemble model file: one versioned binary file holding the options, the generator and
/// discriminator weights, the score calibration and (for checkpoints) the optimiser state.
/// </summary>
/// <remarks>
/// Layout: the 8 magic bytes <c>DAADMDL\n</c>; format version (int32, little-endian); kind (int32:
/// 0 model, 1 checkpoint); header length (int32) and a UTF-8 JSON header (options, calibration,
/// library version, training state); the generator's state dictionary; the discriminator's (DAAD+); the
/// discriminative head's (from version 5, when the options build one);
/// for checkpoints the Adam states and (from version 3) the keep-best weights; the 8-byte end marker <c>DAADEND!</c> that detects truncation; and
/// (from version 2) the SHA-256 of every byte before it, which <see cref="Verify"/> checks before any
/// weight is parsed, so a corrupt file is refused whole instead of half-loaded.
/// Compatibility policy: a library reads every format version from 1 up to its own
/// <see cref="CurrentVersion"/>; a newer file is refused with a message naming both versions.
/// </remarks>
internal static class ModelFile
{
    public const int CurrentVersion = 5;
    private const int FirstChecksummedVersion = 2;
    private const int FirstVersionWithBestWeights = 3;
    private const int FirstVersionWithMemoryInit = 4;
    private const int FirstVersionWithHead = 5;
    private const int HashLength = 32;
    public const int OldestReadableVersion = 1;
    private static readonly byte[] Magic = "DAADMDL\n"u8.ToArray();
    private static readonly byte[] EndMarker = "DAADEND!"u8.ToArray();

    /// <summary>The header's JSON settings: those of <see cref="ModelMetadata.Json"/>, shared with exported models.</summary>
    public static JsonSerializerOptions Json => ModelMetadata.Json;

    public static void Write(Stream stream, ModelHeader header, ModelNetworks networks, AdamOptimizers? optimizers = null, IReadOnlyDictionary<string, Tensor>? bestWeights = null)
    {
        using var hashing = new HashingStream(stream);
        using (var writer = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
        {
            WriteContent(writer, header, networks, optimizers, bestWeights);
        }

        stream.Write(hashing.Hash());
        stream.Flush();
    }

    /// <summary>
    /// Returns a readable, seekable view of <paramref name="stream"/> positioned at its start, after checking
    /// the magic bytes, the format version and (from version 2) the end marker and SHA-256 checksum.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a model file, an unreadable version, truncated, or a failing checksum; <paramref name="name"/> is named.</exception>
    public static Stream Verify(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Stream seekable = stream;
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            seekable = copy;
        }

        long start = seekable.Position;
        var head = new byte[Magic.Length + 4];
        int read = seekable.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read < Magic.Length || !head.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new InvalidDataException(
                read == 0 ? $"{name} is empty, not a DivideAssemble model file."
                : Hosting.ModelFiles.IsOnnxModel(head.AsSpan(0, read)) ? $"{name} is an ONNX model, not a DivideAssemble model file (.daad): score an exported model with OnnxAnomalyScorer.Load (package DivideAssemble.Onnx)."
                : $"{name} is not a DivideAssemble model file (wrong magic bytes).");
        }

        if (read < head.Length)
        {
            throw new InvalidDataException($"{name} is truncated.");
        }

        int version = BitConverter.ToInt32(head, Magic.Length);
        CheckVersion(version, name);
        if (version >= FirstChecksummedVersion)
        {
            long length = seekable.Length - start;
            if (length < head.Length + EndMarker.Length + HashLength)
            {
                throw new InvalidDataException($"{name} is truncated.");
            }

            var tail = new byte[EndMarker.Length + HashLength];
            seekable.Position = start + length - tail.Length;
            seekable.ReadExactly(tail);
            if (!tail.AsSpan(0, EndMarker.Length).SequenceEqual(EndMarker))
            {
                throw new InvalidDataException($"{name} is truncated or corrupt: it does not end with the model file's end marker and checksum.");
            }

            seekable.Position = start;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 20];
            long left = length - HashLength;
            while (left > 0)
            {
                int n = seekable.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n == 0)
                {
                    throw new InvalidDataException($"{name} is truncated.");
                }

                hash.AppendData(buffer, 0, n);
                left -= n;
            }

            if (!hash.GetHashAndReset().AsSpan().SequenceEqual(tail.AsSpan(EndMarker.Length)))
            {
                throw new InvalidDataException($"{name} fails its SHA-256 checksum: the file was damaged or modified after it was written.");
            }
        }

        seekable.Position = start;
        return seekable;
    }

    private static void WriteContent(BinaryWriter writer, ModelHeader header, ModelNetworks networks, AdamOptimizers? optimizers, IReadOnlyDictionary<string, Tensor>? bestWeights)
    {
        writer.Write(Magic);
        writer.Write(CurrentVersion);
        writer.Write(header.Checkpoint is null ? 0 : 1);
        header.Options = ModelMetadata.Stored(header.Options);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
        writer.Write(json.Length);
        writer.Write(json);
        foreach (var (_, module) in networks.Named())
        {
            module.save(writer);
        }

        if (header.Checkpoint is not null)
        {
            foreach (var optimizer in (optimizers ?? throw new ArgumentNullException(nameof(optimizers), "A checkpoint holds the optimisers' state.")).All())
            {
                optimizer.Save(writer);
            }

            writer.Write(bestWeights?.Count ?? 0);
            foreach (var (key, value) in bestWeights ?? new Dictionary<string, Tensor>())
            {
                writer.Write(key);
                value.Save(writer);
            }
        }

        writer.Write(EndMarker);
        writer.Flush();
    }

    private static void CheckVersion(int version, string name)
    {
        if (version < OldestReadableVersion || version > CurrentVersion)
        {
            throw new InvalidDataException(
                $"{name} has model format version {version}; this library reads versions {OldestReadableVersion} to {CurrentVersion}.");
        }
    }

    /// <summary>Reads the header; the reader is left positioned at the generator's weights.</summary>
    /// <exception cref="InvalidDataException">Not a model file, another format version, or truncated; <paramref name="name"/> is named.</exception>
    public static ModelHeader ReadHeader(BinaryReader reader, string name)
    {
        try
        {
            byte[] magic = reader.ReadBytes(Magic.Length);
            if (!magic.AsSpan().SequenceEqual(Magic))
            {
                throw new InvalidDataException($"{name} is not a DivideAssemble model file (wrong magic bytes).");
            }

            int version = reader.ReadInt32();
            CheckVersion(version, name);

            int kind = reader.ReadInt32();
            int length = reader.ReadInt32();
            if (kind is not (0 or 1) || length <= 0 || length > 64 << 20)
            {
                throw new InvalidDataException($"{name} has a corrupt header.");
            }

            byte[] json = reader.ReadBytes(length);
            if (json.Length != length)
            {
                throw new EndOfStreamException();
            }

            var header = JsonSerializer.Deserialize<ModelHeader>(json, Json)
                ?? throw new InvalidDataException($"{name} has an empty header.");
            header.FormatVersion = version;
            if (version < FirstVersionWithMemoryInit && header.Options is { Training.MemoryInit: MemoryInit.Auto } old)
            {
                // Written before items could start from samples: they started uniform (and scores had no memory distance).
                old.Training.MemoryInit = MemoryInit.Uniform;
            }

            if (version < FirstVersionWithHead && header.Options is { } before)
            {
                // Written before the discriminative head and restoration training: the model has neither.
                before.Network.HeadWidth = 0;
                before.Training.Restoration ??= false;
            }

            if (header.Options is { } read)
            {
                ModelMetadata.Restored(read);
            }

            if ((kind == 1) != (header.Checkpoint is not null))
            {
                throw new InvalidDataException($"{name} has a corrupt header (kind {kind}).");
            }

            var problems = DaadOptionsValidator.Collect(header.Options ?? throw new InvalidDataException($"{name} has no options in its header."));
            if (problems.Count > 0)
            {
                throw new InvalidDataException($"{name} holds invalid options: {string.Join("; ", problems)}");
            }

            return header;
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException($"{name} is truncated.", ex);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{name} has a corrupt header: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Reads weights (and for checkpoints the optimiser states and keep-best weights, returned) after
    /// the header, then checks the end marker.
    /// </summary>
    public static Dictionary<string, Tensor>? ReadBody(BinaryReader reader, string name, ModelHeader header, ModelNetworks networks, AdamOptimizers? optimizers = null)
    {
        Dictionary<string, Tensor>? best = null;
        try
        {
            foreach (var (_, module) in networks.Named())
            {
                module.load(reader, strict: true);
            }

            foreach (var optimizer in optimizers?.All() ?? Enumerable.Empty<AdamOptimizer>())
            {
                optimizer.Load(reader);
            }

            if (header.Checkpoint is not null && header.FormatVersion >= FirstVersionWithBestWeights)
            {
                best = ReadBestWeights(reader, name, networks);
            }

            byte[] end = reader.ReadBytes(EndMarker.Length);
            if (!end.AsSpan().SequenceEqual(EndMarker))
            {
                throw new InvalidDataException(end.Length < EndMarker.Length ? $"{name} is truncated." : $"{name} is corrupt (no end marker after the weights).");
            }

            return best;
        }
        catch (EndOfStreamException ex)
        {
            Dispose(best);
            throw new InvalidDataException($"{name} is truncated.", ex);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IndexOutOfRangeException or OverflowException or FormatException)
        {
            Dispose(best);
            throw new InvalidDataException($"{name} holds weights that do not match its options: {ex.Message}", ex);
        }
    }

    private static Dictionary<string, Tensor>? ReadBestWeights(BinaryReader reader, string name, ModelNetworks networks)
    {
        int count = reader.ReadInt32();
        if (count == 0)
        {
            return null;
        }

        var shapes = networks.State().ToDictionary(kv => kv.Key, kv => kv.Value);
        if (count != shapes.Count)
        {
            throw new InvalidDataException($"{name} holds {count} keep-best tensors; the model has {shapes.Count}.");
        }

        var best = new Dictionary<string, Tensor>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                string key = reader.ReadString();
                if (!shapes.TryGetValue(key, out var like) || best.ContainsKey(key))
                {
                    throw new InvalidDataException($"{name} holds an unknown or repeated keep-best tensor '{key}'.");
                }

                var copy = zeros_like(like, device: CPU).DetachFromDisposeScope();
                best[key] = copy;
                copy.Load(reader);
            }

            return best;
        }
        catch
        {
            Dispose(best);
            throw;
        }
    }

    private static void Dispose(Dictionary<string, Tensor>? tensors)
    {
        foreach (var t in tensors?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }
    }
}

/// <summary>The JSON header of a model file.</summary>
internal sealed class ModelHeader
{
    public string LibraryVersion { get; set; } = typeof(ModelHeader).Assembly.GetName().Version?.ToString() ?? "0";

    public DateTimeOffset CreatedUtc { get; set; } = DateTimeOffset.UtcNow;

    public DaadOptions Options { get; set; } = new();

    public ScoreCalibration? Calibration { get; set; }

    public CheckpointState? Checkpoint { get; set; }

    /// <summary>Gets or sets what model selection tried and chose (<see langword="null"/> when the model was not selected).</summary>
    public SelectionReport? Selection { get; set; }

    /// <summary>Gets or sets whether the weights were trained (<see langword="null"/> in files written before this field existed: they were calibrated exactly when trained).</summary>
    public bool? Trained { get; set; }

    /// <summary>Gets or sets the format version the header was read from (not written: the writer writes <see cref="ModelFile.CurrentVersion"/>).</summary>
    [JsonIgnore]
    public int FormatVersion { get; set; } = ModelFile.CurrentVersion;
}

/// <summary>Training state stored in a checkpoint.</summary>
internal sealed class CheckpointState
{
    public int EpochsCompleted { get; set; }

    public List<EpochLosses> History { get; set; } = new();

    public double BestValidationLoss { get; set; } = double.PositiveInfinity;

    public int BestEpoch { get; set; }

    public int EpochsWithoutImprovement { get; set; }

    /// <summary>Gets the weights of the best epoch when keep-best is on (keys <c>g.…</c>, <c>d.…</c>, <c>h.…</c>); written in the checkpoint's body, not its header.</summary>
    [JsonIgnore]
    public Dictionary<string, Tensor>? BestWeights { get; private set; }

    /// <summary>Replaces the keep-best weights, disposing the previous copy.</summary>
    public void ReplaceBestWeights(Dictionary<string, Tensor>? weights)
    {
        foreach (var t in BestWeights?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }

        BestWeights = weights;
    }

    /// <summary>Forgets the best epoch and its weights, so the tracking starts again (the head's epochs after the generator's).</summary>
    public void StartOverBest()
    {
        ReplaceBestWeights(null);
        BestValidationLoss = double.PositiveInfinity;
        BestEpoch = 0;
        EpochsWithoutImprovement = 0;
    }
}

/// <summary>A write-only pass-through stream that hashes what it writes (SHA-256).</summary>
internal sealed class HashingStream : Stream
{
    private readonly Stream inner;
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public HashingStream(Stream inner) => this.inner = inner;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public byte[] Hash() => hash.GetHashAndReset();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        hash.AppendData(buffer);
        inner.Write(buffer);
    }

    public override void WriteByte(byte value) => Write(new[] { value });

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            hash.Dispose();
        }

        base.Dispose(disposing);
    }
}
