using BenchmarkDotNet.Attributes;
using DivideAssemble.Onnx;
using DivideAssemble.Torch;
using DivideAssemble.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Benchmarks;

/// <summary>End to end: one training step and one scoring batch of 8 images, by variant and size.</summary>
[Config(typeof(PipelineConfig))]
public class PipelineBenchmarks
{
    private Pipeline.Model model = null!;

    [Params(64, 128, 256)]
    public int Size { get; set; }

    [Params(ModelVariant.AutoencoderSkip, ModelVariant.MemAE, ModelVariant.Daad)]
    public ModelVariant Variant { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Environment.ProcessorCount);
        model = new Pipeline.Model(Variant, Size);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// peak working set {Variant} {Size}: {Pipeline.PeakRssMegabytes():F0} MB");
        model.Dispose();
    }

    [Benchmark(Description = "training step")]
    public void TrainingStep() => model.TrainingStep();

    [Benchmark(Description = "scoring batch")]
    public void ScoringBatch() => model.Score();
}

/// <summary>Pipeline operations shared by BenchmarkDotNet and the quick and pipeline modes.</summary>
internal static class Pipeline
{
    /// <summary>The head width of the pipeline mode's "with a discriminative head" cases.</summary>
    public const int HeadWidth = 16;

    public static AnomalyDetector Build(ModelVariant variant, int size, int width = 32, int headWidth = 0, bool? flipAveraging = null)
    {
        var options = DaadOptions.Default;
        options.Network.HeadWidth = headWidth; // 0: none, whatever the size-derived default
        options.Scoring.FlipAveraging = flipAveraging; // null: the default (4 views: training flips both ways)
        options.Network.BaseWidth = width;
        options.Network.Variant = variant;
        options.Network.ImageSize = size;
        options.Network.Channels = 3;
        (options.Network.HeightRatio, options.Network.WidthRatio) = (8, 8); // pinned: the figures in docs/benchmarks.md are for 8,8,1 (the size rule would give 16 at 256 px)
        options.Training.Epochs = 1;
        options.Training.ValidationFraction = 0.25;
        return new AnomalyDetector(options);
    }

    /// <summary>Resets the kernel's peak-RSS counter (Linux); returns false elsewhere.</summary>
    public static bool ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Peak resident set size since the last reset, in MB (VmHWM on Linux, else the process's peak working set).</summary>
    public static double PeakRssMegabytes()
    {
        if (File.Exists("/proc/self/status"))
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
                }
            }
        }

        return System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024);
    }

    public static double RssMegabytes() => System.Diagnostics.Process.GetCurrentProcess().WorkingSet64 / (1024.0 * 1024);

    /// <summary>A detector at one size with the library's own training step (Adam, the DAAD loss), a batch of 8 images, and optionally its ONNX export on ONNX Runtime.</summary>
    internal sealed class Model : IDisposable
    {
        private readonly AnomalyDetector detector;
        private readonly AdamOptimizer optimizer;
        private readonly AdamOptimizers optimizers;
        private readonly Random anomalies = new(1);
        private readonly DivideAssemble.Training.TrainingStep step;
        private readonly Tensor images;
        private readonly string? onnxFolder;
        private readonly OnnxAnomalyScorer? onnx;

        public Model(ModelVariant variant, int size, int width = 32, bool withOnnx = false, int headWidth = 0, bool? flipAveraging = null)
        {
            detector = Build(variant, size, width, headWidth, flipAveraging);
            images = (rand(Shapes.Batch, 3, size, size) * 2) - 1;
            var floats = images.data<float>().ToArray();
            int length = 3 * size * size;
            Batch = Enumerable.Range(0, Shapes.Batch).Select(i => new FloatImage(3, size, size, floats.AsSpan(i * length, length).ToArray())).ToArray();
            if (withOnnx)
            {
                detector.Fit(new TensorImageSource(images)); // an export needs a trained, calibrated model
            }

            var options = detector.Options;
            optimizers = DivideAssemble.Training.Optimizers.For(options.Training, new DivideAssemble.Modules.ModelNetworks(detector.Generator, detector.Discriminator, detector.Head));
            optimizer = optimizers.Generator;
            step = new DivideAssemble.Training.TrainingStep(options, detector.Generator, detector.Discriminator, detector.Head, optimizers.Generator, optimizers.Discriminator, optimizers.Head);
            if (withOnnx)
            {
                onnxFolder = Directory.CreateTempSubdirectory("daad-bench-").FullName;
                string path = Path.Combine(onnxFolder, "model.onnx");
                detector.ExportOnnx(path);
                onnx = OnnxAnomalyScorer.Load(path, "cpu", Environment.ProcessorCount);
            }
        }

        public IReadOnlyList<FloatImage> Batch { get; }

        public AnomalyDetector Detector => detector;

        public AdamOptimizer Optimizer => optimizer;

        public Tensor Images => images;

        public void TrainingStep()
        {
            using var scope = NewDisposeScope();
            detector.Generator.train();
            detector.Discriminator?.train();
            detector.Head?.train();
            step.Run(images, anomalies);
            if (detector.Head is not null)
            {
                // A head trains after the generator, for as many epochs by default: a step of each, as TrainingStep.Time counts it.
                step.RunHead(images, anomalies);
            }

            detector.Generator.eval();
            detector.Discriminator?.eval();
            detector.Head?.eval();
        }

        public void Score() => detector.Score(Batch);

        public void ScoreOne() => detector.Score(Batch[0]);

        public void ScoreOnnx() => onnx!.Score(Batch);

        public void ScoreOneOnnx() => onnx!.Score(Batch[0]);

        public void Dispose()
        {
            onnx?.Dispose();
            optimizers.Dispose();
            images.Dispose();
            detector.Dispose();
            if (onnxFolder is not null)
            {
                Directory.Delete(onnxFolder, recursive: true);
            }
        }
    }
}
