using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Benchmarks;

/// <summary>End to end: one training step and one scoring batch of 8 images, by variant and size.</summary>
[Config(typeof(PipelineConfig))]
public class PipelineBenchmarks
{
    private AnomalyDetector detector = null!;
    private optim.Optimizer optimizer = null!;
    private Tensor images = null!;

    [Params(64, 128, 256)]
    public int Size { get; set; }

    [Params(ModelVariant.AutoencoderSkip, ModelVariant.MemAE, ModelVariant.Daad)]
    public ModelVariant Variant { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Environment.ProcessorCount);
        detector = Pipeline.Build(Variant, Size);
        optimizer = optim.Adam(detector.Generator.parameters(), 1e-4);
        images = (rand(Shapes.Batch, 3, Size, Size) * 2) - 1;
        Pipeline.Calibrate(detector, images);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// peak working set {Variant} {Size}: {Pipeline.PeakRssMegabytes():F0} MB");
        optimizer.Dispose();
        images.Dispose();
        detector.Dispose();
    }

    [Benchmark(Description = "training step")]
    public void TrainingStep() => Pipeline.TrainingStep(detector, optimizer, images);

    [Benchmark(Description = "scoring batch")]
    public void ScoringBatch() => Pipeline.Score(detector, images);
}

/// <summary>Pipeline operations shared by BenchmarkDotNet and the quick mode.</summary>
internal static class Pipeline
{
    public static AnomalyDetector Build(ModelVariant variant, int size, int width = 32)
    {
        var options = DaadOptions.Default;
        options.Network.BaseWidth = width;
        options.Network.Variant = variant;
        options.Network.ImageSize = size;
        options.Network.Channels = 3;
        return new AnomalyDetector(options);
    }

    public static void Calibrate(AnomalyDetector detector, Tensor images) =>
        detector.Calibrate(new TensorImageSource(images));

    public static void TrainingStep(AnomalyDetector detector, optim.Optimizer optimizer, Tensor images)
    {
        using var scope = NewDisposeScope();
        detector.Generator.train();
        var recon = detector.Generator.forward(images);
        var loss = DivideAssemble.Torch.ScalarMath.Mul(nn.functional.mse_loss(recon, images), 50);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }

    public static void Score(AnomalyDetector detector, Tensor images) => detector.Score(images);

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
}
