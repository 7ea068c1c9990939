namespace DivideAssemble.Imaging;

/// <summary>
/// Scoring of image files, streams and folders with any <see cref="IAnomalyScorer"/> (the TorchSharp
/// detector or the ONNX Runtime scorer): SkiaSharp decodes, <see cref="ImagePreprocessing"/> converts
/// the pixels exactly as training did.
/// </summary>
public static class ImagingExtensions
{
    /// <summary>Decodes an image file (converted to the model's channels and size) and scores it.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a complete image.</exception>
    public static AnomalyResult Score(this IAnomalyScorer scorer, string path)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        return scorer.Score(ImageDecoder.DecodeFloat(path));
    }

    /// <summary>Decodes an image from a stream and scores it.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a complete image.</exception>
    public static AnomalyResult Score(this IAnomalyScorer scorer, Stream image)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        return scorer.Score(ImageDecoder.Decode(image).ToFloatImage());
    }

    /// <summary>Scores every PNG, JPEG and BMP image of a folder (sorted by name), in batches; returns each file with its result.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder holds no images, or an image cannot be read (the message names it).</exception>
    public static IReadOnlyList<(string Path, AnomalyResult Result)> ScoreFolder(this IAnomalyScorer scorer, string folder, bool recursive = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        var source = Datasets.Folder(folder, recursive);
        var results = scorer.Score(source, cancellationToken);
        return source.Paths.Zip(results).ToList();
    }
}
