using System.Diagnostics;
using System.Globalization;
using DivideAssemble.Evaluation;
using DivideAssemble.Imaging;
using DivideAssemble.Scoring;
using DivideAssemble.Torch;
using DivideAssemble.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Benchmarks;

/// <summary>
/// <c>--head-curve &lt;image folder&gt;</c>: how fast the discriminative head learns its own task. The head alone trains on
/// the folder's images with the training synthesis (<see cref="AnomalySynthesis"/>, the library's defaults) for a
/// number of steps (batch 8, its own Adam at <see cref="TrainingOptions.HeadLearningRate"/>, focal loss), reading
/// each corrupted image beside a stand-in reconstruction — the image Gaussian-blurred at σ 1.5, or a trained model's
/// own reconstruction with <c>--model</c> — and prints its focal loss as it goes, then the pixel and image AUROC of
/// its map on anomalies painted on the held-back fifth of the images. A head that has learned nothing scores 0.5;
/// the constant prediction's focal loss is the floor a loss curve must leave.
/// </summary>
internal static class HeadCurveMode
{
    private static readonly string[] Keys = { "steps", "width", "size", "depth", "min-opacity", "lr", "model" };

    public static void Run(TextWriter output, string folder, IReadOnlyDictionary<string, string> settings)
    {
        if (settings.Keys.FirstOrDefault(k => !Keys.Contains(k, StringComparer.Ordinal)) is { } unknown)
        {
            throw new ArgumentException($"--head-curve: unknown setting '{unknown}'; the settings are {string.Join(", ", Keys)}.");
        }

        int steps = Int(settings, "steps", 400), width = Int(settings, "width", 16), size = Int(settings, "size", 128), depth = Int(settings, "depth", 3);
        var training = new TrainingOptions();
        training.MinAnomalyOpacity = Double(settings, "min-opacity", training.MinAnomalyOpacity);
        double learningRate = Double(settings, "lr", training.HeadLearningRate);
        torch.set_num_threads(Environment.ProcessorCount);
        torch.manual_seed(1);
        var files = Datasets.ImageFiles(folder);
        if (files.Count < 10)
        {
            throw new ArgumentException($"--head-curve needs at least 10 images in '{folder}'; it holds {files.Count}.");
        }

        var source = new FileImageSource(files);
        int channels = source.StoredChannels() ?? 1;
        int length = channels * size * size;
        var pixels = new float[files.Count * length];
        for (int i = 0; i < files.Count; i++)
        {
            source.Read(i, channels, size, pixels.AsSpan(i * length, length));
        }

        using var model = settings.TryGetValue("model", out var path) ? AnomalyDetector.Load(path) : null;
        if (model is not null && (model.Options.Network.ImageSize != size || model.Options.Network.ResolvedChannels != channels))
        {
            throw new ArgumentException($"--head-curve: the model '{path}' reads {model.Options.Network.ResolvedChannels}×{model.Options.Network.ImageSize}×{model.Options.Network.ImageSize} images; the folder's are {channels}-channel, read at size={size}.");
        }

        using var all = tensor(pixels, new long[] { files.Count, channels, size, size });
        using var head = new DiscriminativeHead(channels, size, width, depth);
        using var optimizer = new AdamOptimizer(head.parameters(), learningRate, training.Beta1, training.Beta2, training.WeightDecay);
        var synthesis = new AnomalySynthesis(training);
        int train = files.Count * 4 / 5;
        output.WriteLine(FormattableString.Invariant($"head curve: {files.Count} images of '{folder}' at {size} px ({train} to train on, {files.Count - train} held back), head width {width}, depth {depth}, {steps} steps of 8, lr {learningRate}, opacity {training.MinAnomalyOpacity}–{training.MaxAnomalyOpacity}, reconstruction: {(model is null ? "the image blurred at σ 1.5" : path)}"));
        var random = new Random(1);
        double average = 0, painted = 0;
        var clock = Stopwatch.StartNew();
        head.train();
        for (int step = 1; step <= steps; step++)
        {
            using var scope = NewDisposeScope();
            var x = all.index_select(0, tensor(Enumerable.Range(0, 8).Select(_ => (long)random.Next(train)).ToArray()));
            var (images, masks) = synthesis.Apply(x, random);
            optimizer.ZeroGrad();
            var loss = Losses.Focal(head.call(images, Reconstruct(model, images)), masks);
            loss.backward();
            optimizer.Step();
            double value = loss.item<float>();
            average = step == 1 ? value : (0.95 * average) + (0.05 * value);
            painted += (masks.mean().item<float>() - painted) / step;
            if (step % 50 == 0 || step == steps)
            {
                output.WriteLine(FormattableString.Invariant($"step {step}: focal loss {average:F4} (running mean; a constant prediction's floor at {painted:P1} anomalous pixels is {ConstantFloor(painted):F4}), {clock.Elapsed.TotalSeconds:F0} s"));
            }
        }

        head.eval();
        var (pixel, image) = HeldBack(head, model, synthesis, all, train, size);
        output.WriteLine(FormattableString.Invariant($"held back, anomalies painted by the same synthesis: pixel AUROC {pixel:F3}, image AUROC {image:F3} (top 3 % mean of the map)"));
    }

    private static (double Pixel, double Image) HeldBack(DiscriminativeHead head, AnomalyDetector? model, AnomalySynthesis synthesis, Tensor all, int train, int size)
    {
        using var noGrad = no_grad();
        var random = new Random(99);
        var pixelScores = new List<double>();
        var pixelLabels = new List<int>();
        var imageScores = new List<double>();
        var imageLabels = new List<int>();
        for (int start = train; start < all.shape[0]; start += 8)
        {
            using var scope = NewDisposeScope();
            var x = all.narrow(0, start, Math.Min(8, all.shape[0] - start));
            var (images, masks) = synthesis.Apply(x, random);
            var probability = head.Probability(images, Reconstruct(model, images));
            pixelScores.AddRange(probability.flatten().data<float>().ToArray().Select(v => (double)v));
            pixelLabels.AddRange(masks.flatten().data<float>().ToArray().Select(v => v > 0.5f ? 1 : 0));
            imageScores.AddRange(probability.flatten(1).topk(Math.Max(1, size * size * 3 / 100), 1).values.mean(new long[] { 1 }).data<float>().ToArray().Select(v => (double)v));
            imageLabels.AddRange(masks.flatten(1).amax(new long[] { 1 }).data<float>().ToArray().Select(v => v > 0.5f ? 1 : 0));
        }

        return (Metrics.Auroc(pixelScores, pixelLabels), Metrics.Auroc(imageScores, imageLabels));
    }

    private static Tensor Reconstruct(AnomalyDetector? model, Tensor images)
    {
        if (model is not null)
        {
            using var noGrad = no_grad();
            return model.Generator.call(images);
        }

        long b = images.shape[0], c = images.shape[1], s = images.shape[2];
        return AnomalyMaps.Smooth(images.flatten(0, 1), 1.5).reshape(b, c, s, s);
    }

    /// <summary>The focal loss (γ = 2) of the best constant probability q for a share π of anomalous pixels.</summary>
    private static double ConstantFloor(double share)
    {
        double best = double.PositiveInfinity;
        for (double q = 0.001; q < 0.999; q += 0.001)
        {
            double loss = (-share * (1 - q) * (1 - q) * Math.Log(q)) - ((1 - share) * q * q * Math.Log(1 - q));
            best = Math.Min(best, loss);
        }

        return best;
    }

    private static int Int(IReadOnlyDictionary<string, string> settings, string key, int fallback) =>
        settings.TryGetValue(key, out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static double Double(IReadOnlyDictionary<string, string> settings, string key, double fallback) =>
        settings.TryGetValue(key, out var text) ? double.Parse(text, CultureInfo.InvariantCulture) : fallback;
}
