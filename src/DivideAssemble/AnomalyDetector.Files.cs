using DivideAssemble.Persistence;
using DivideAssemble.Training;
using Microsoft.Extensions.Logging;

namespace DivideAssemble;

/// <summary>The detector's files: saving and loading models, and resuming training checkpoints.</summary>
public sealed partial class AnomalyDetector
{
    /// <summary>
    /// Loads a checkpoint written by <see cref="FitWithCheckpoints"/> and continues training where it
    /// stopped (same options, same data), writing further checkpoints to the same path. The resumed run
    /// repeats the uninterrupted one exactly, keep-best weights included.
    /// </summary>
    /// <exception cref="FileNotFoundException">The checkpoint does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated, fails its checksum or has another format version.</exception>
    public static (AnomalyDetector Detector, TrainingSummary Summary) Resume(
        string checkpointPath, IImageSource normalImages, IProgress<TrainingProgress>? progress = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointPath);
        ArgumentNullException.ThrowIfNull(normalImages);
        if (!File.Exists(checkpointPath))
        {
            throw new FileNotFoundException($"Checkpoint file '{checkpointPath}' does not exist.", checkpointPath);
        }

        string name = $"'{checkpointPath}'";
        using var file = File.OpenRead(checkpointPath);
        using var stream = ModelFile.Verify(file, name);
        using var reader = new BinaryReader(stream);
        var header = ModelFile.ReadHeader(reader, name);
        if (header.Checkpoint is null)
        {
            throw new InvalidDataException($"{name} is a model, not a training checkpoint.");
        }

        var detector = new AnomalyDetector(header.Options, logger);
        try
        {
            var optimizers = Optimizers.For(detector.options.Training, detector.Networks);
            var best = ModelFile.ReadBody(reader, name, header, detector.Networks, optimizers);
            header.Checkpoint.ReplaceBestWeights(best);
            var summary = detector.Train(normalImages, header.Checkpoint, checkpointPath, progress, optimizers, cancellationToken);
            return (detector, summary);
        }
        catch
        {
            header.Checkpoint.ReplaceBestWeights(null);
            detector.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ObjectDisposedException.ThrowIf(disposed, this);
        AtomicFile.Write(path, Save);
    }

    /// <inheritdoc />
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Read(() =>
        {
            ModelFile.Write(stream, new ModelHeader { Options = options.Clone(), Calibration = Calibration, Trained = trained, Selection = Selection }, Networks);
            return 0;
        });
    }

    /// <summary>Loads a model file onto the device it was saved for.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a model, is truncated, fails its checksum, holds invalid options, or has a format version this library does not read; the message names the file.</exception>
    public static AnomalyDetector Load(string path) => Load(path, null, null);

    /// <summary>Loads a model file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="device">The device to load onto (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>); <see langword="null"/> keeps the saved one.</param>
    /// <param name="logger">A logger, or <see langword="null"/>.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a model, is truncated, fails its checksum, holds invalid options, or has a format version this library does not read; the message names the file.</exception>
    public static AnomalyDetector Load(string path, string? device, ILogger? logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        }

        using var stream = File.OpenRead(path);
        return Load(stream, device, logger, $"'{path}'");
    }

    /// <summary>Loads a model from a stream, on the device it was saved for.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a complete model of a readable format version.</exception>
    public static AnomalyDetector Load(Stream stream) => Load(stream, null, null, "The model stream");

    /// <summary>Loads a model from a stream onto <paramref name="device"/> (<see langword="null"/> keeps the saved one).</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a complete model of a readable format version.</exception>
    public static AnomalyDetector Load(Stream stream, string? device, ILogger? logger) => Load(stream, device, logger, "The model stream");

    private static AnomalyDetector Load(Stream stream, string? device, ILogger? logger, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var verified = ModelFile.Verify(stream, name);
        using var owned = ReferenceEquals(verified, stream) ? null : verified;
        using var reader = new BinaryReader(verified, System.Text.Encoding.UTF8, leaveOpen: true);
        var header = ModelFile.ReadHeader(reader, name);
        if (header.Checkpoint is not null)
        {
            throw new InvalidDataException($"{name} is a training checkpoint; resume it with AnomalyDetector.Resume, or finish training to get a model.");
        }

        var opts = header.Options;
        if (device is not null)
        {
            opts.Device = device;
        }

        var detector = new AnomalyDetector(opts, logger);
        try
        {
            // Weights load on the CPU first, then move: a file saved on CUDA loads on a CPU-only machine.
            ModelFile.ReadBody(reader, name, header, detector.Networks);
            if (header.Calibration is { } calibration)
            {
                detector.Scorer.UseCalibration(calibration);
            }

            detector.trained = header.Trained ?? header.Calibration is not null;
            detector.Selection = header.Selection;
            return detector;
        }
        catch
        {
            detector.Dispose();
            throw;
        }
    }
}
