using System.Diagnostics;
using System.Globalization;
using DivideAssemble.Imaging;
using SkiaSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Cli;

/// <summary>
/// <c>daad soak</c>: trains and scores for a while and reports whether the process's resident memory
/// stays flat — the check to run before a detector goes on a line for months.
/// </summary>
internal static class Soak
{
    public sealed record Figures(double WarmRssMb, double FinalRssMb, double PeakAfterWarmUpMb, int Steps, int Scored, double Seconds)
    {
        public double GrowthPercent => 100 * (FinalRssMb - WarmRssMb) / WarmRssMb;

        /// <summary>Whether resident memory grew by less than <paramref name="maxGrowthPercent"/> over the measured part.</summary>
        public bool IsFlat(double maxGrowthPercent) => GrowthPercent < maxGrowthPercent;
    }

    /// <summary>
    /// Warm-up: trains <c>steps / 10</c> steps and scores <c>images / 10</c> files. Then the measured part:
    /// trains <paramref name="steps"/> steps and scores <paramref name="images"/> PNG files from disk
    /// (decode, resize, score), sampling the resident set size after a full garbage collection.
    /// </summary>
    /// <param name="options">The detector's options.</param>
    /// <param name="dataFolder">Images to train and score on, or <see langword="null"/> for synthetic PNGs.</param>
    /// <param name="steps">Training steps in the measured part.</param>
    /// <param name="images">Images scored in the measured part.</param>
    /// <param name="stdout">Where the samples are printed.</param>
    /// <param name="afterEachOperation">Runs after every step and every image of the measured part (the tests leak memory through it on purpose).</param>
    public static Figures Run(DaadOptions options, string? dataFolder, int steps, int images, TextWriter stdout, Action? afterEachOperation = null)
    {
        string work = Directory.CreateTempSubdirectory("daad-soak-").FullName;
        try
        {
            int size = options.Network.ImageSize;
            var files = dataFolder is null ? WriteSyntheticPngs(work, 32, size, options.Network.ResolvedChannels) : Datasets.ImageFiles(dataFolder, recursive: true).ToList();
            if (files.Count == 0)
            {
                throw new InvalidDataException($"The folder '{dataFolder}' holds no PNG, JPEG or BMP images to soak with.");
            }

            var train = new FileImageSource(files);
            var soakOptions = options.Clone();
            soakOptions.Training.Epochs = 1_000_000;
            using var detector = DaadBuilder.Create(soakOptions).Build();
            var clock = Stopwatch.StartNew();

            Phase(detector, train, files, Math.Max(1, steps / 10), Math.Max(1, images / 10), null, null);
            double warm = Rss();
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"after warm-up: RSS {warm:F0} MB"));
            double peak = warm;
            Phase(detector, train, files, steps, images, (what, done) =>
            {
                double rss = Rss();
                peak = Math.Max(peak, rss);
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what} {done}: RSS {rss:F0} MB ({100 * (rss - warm) / warm:+0.0;-0.0} %)"));
            }, afterEachOperation);
            double final = Rss();
            return new Figures(warm, final, peak, steps, images, clock.Elapsed.TotalSeconds);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static void Phase(AnomalyDetector detector, IImageSource train, IReadOnlyList<string> files, int steps, int images, Action<string, int>? sample, Action? afterEach)
    {
        // The detector is built with more epochs than needed; training is cancelled after the wanted number of steps,
        // which leaves a calibrated model, as a cancelled run in an application would.
        int done = 0;
        using var cts = new CancellationTokenSource();
        var progress = new InlineProgress(p =>
        {
            if (p.EndOfEpoch)
            {
                return;
            }

            done++;
            afterEach?.Invoke();
            if (done % Math.Max(1, steps / 6) == 0 || done == steps)
            {
                sample?.Invoke("training step", done);
            }

            if (done >= steps)
            {
                cts.Cancel();
            }
        });
        try
        {
            detector.Fit(train, progress, cts.Token);
        }
        catch (OperationCanceledException)
        {
        }

        for (int i = 0; i < images; i++)
        {
            _ = detector.Score(files[i % files.Count]);
            afterEach?.Invoke();
            if ((i + 1) % Math.Max(1, images / 8) == 0 || i + 1 == images)
            {
                sample?.Invoke("images scored", i + 1);
            }
        }
    }

    private static double Rss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 / (1024.0 * 1024);
    }

    private static List<string> WriteSyntheticPngs(string folder, int count, int size, int channels)
    {
        var random = new Random(1);
        var files = new List<string>();
        for (int k = 0; k < count; k++)
        {
            using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            double fx = 0.2 + (0.1 * random.NextDouble()), fy = 0.15 + (0.1 * random.NextDouble()), phase = random.NextDouble() * 6;
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++)
                {
                    double v = 0.5 + (0.25 * Math.Sin((fx * x) + phase)) + (0.15 * Math.Cos(fy * y)) + (0.1 * random.NextDouble());
                    byte g = (byte)Math.Clamp(v * 255, 0, 255);
                    bitmap.SetPixel(x, y, channels == 1 ? new SKColor(g, g, g) : new SKColor(g, (byte)(255 - g), (byte)(g / 2)));
                }
            }

            string path = Path.Combine(folder, $"{k:D3}.png");
            using (var stream = File.Create(path))
            {
                bitmap.Encode(stream, SKEncodedImageFormat.Png, 100);
            }

            files.Add(path);
        }

        return files;
    }
}

/// <summary>An <see cref="IProgress{T}"/> that runs its action on the reporting thread (<see cref="Progress{T}"/> posts to the thread pool, too late to cancel at an exact step).</summary>
internal sealed class InlineProgress : IProgress<TrainingProgress>
{
    private readonly Action<TrainingProgress> action;

    public InlineProgress(Action<TrainingProgress> action) => this.action = action;

    public void Report(TrainingProgress value) => action(value);
}
