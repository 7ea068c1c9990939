using System.Globalization;
using TorchSharp;

namespace DivideAssemble.Benchmarks;

/// <summary>
/// <c>--pipeline</c>: per size, the training step of AE+Skip, MemAE and DAAD, scoring batches (8 images)
/// on TorchSharp and — for DAAD — on ONNX Runtime, and single-image latency on both. Every case is warmed
/// up until its times settle, then the cases are measured in interleaved rounds (one of each per round),
/// so a slow phase of the machine hits all of them alike; each row gives the median and the interquartile
/// range. DAAD with a discriminative head of width <see cref="Pipeline.HeadWidth"/> (the default head weight 0.5, so its map mixes the residual's and the head's; its training step is a generator step and a head step, as a run with as many head epochs as generator epochs takes)
/// runs in the same rounds, so its cost against DAAD without one is a back-to-back figure; so does DAAD scoring one view
/// (flip averaging off: <see cref="ScoringOptions.FlipAveraging"/>), against the default's four. A second pass measures peak and steady resident memory, each case in a fresh process (<see cref="MemoryChild"/>),
/// so one case's allocator state never shows up in another's figure.
/// </summary>
internal static class PipelineMode
{
    public static void Run(TextWriter output, int[] sizes)
    {
        torch.set_num_threads(Environment.ProcessorCount);
        output.WriteLine(FormattableString.Invariant($"pipeline benchmark: {Environment.ProcessorCount} cores, libtorch threads {torch.get_num_threads()}, ONNX Runtime intra-op threads {Environment.ProcessorCount}, batch {Shapes.Batch}, library default options (width 32, depth 4, division 8,8,1, N = 500)"));
        output.WriteLine("| size | case | median ms [p25–p75] | images/s (median) | p99 ms |");
        output.WriteLine("|---|---|---|---|---|");
        foreach (int size in sizes)
        {
            var variants = new[] { ModelVariant.AutoencoderSkip, ModelVariant.MemAE, ModelVariant.Daad };
            var models = variants.Select(v => new Pipeline.Model(v, size, withOnnx: v == ModelVariant.Daad))
                .Append(new Pipeline.Model(ModelVariant.Daad, size, withOnnx: true, headWidth: Pipeline.HeadWidth))
                .Append(new Pipeline.Model(ModelVariant.Daad, size, withOnnx: true, flipAveraging: false)).ToArray();
            try
            {
                var daad = models[2];
                var head = models[3];
                var oneView = models[4];
                const string OneView = "Daad, one view (flip averaging off)";
                string withHead = $"Daad + head {Pipeline.HeadWidth}";
                var cases = new List<(string Name, int Images, Action Run)>();
                foreach (var (variant, model) in variants.Zip(models))
                {
                    cases.Add(($"{variant} training step", Shapes.Batch, model.TrainingStep));
                }

                cases.Add(($"{withHead} training step", Shapes.Batch, head.TrainingStep));

                foreach (var (variant, model) in variants.Zip(models))
                {
                    cases.Add(($"{variant} scoring batch, TorchSharp", Shapes.Batch, model.Score));
                }

                cases.Add(($"{withHead} scoring batch, TorchSharp", Shapes.Batch, head.Score));
                cases.Add(("Daad scoring batch, ONNX Runtime", Shapes.Batch, daad.ScoreOnnx));
                cases.Add(($"{withHead} scoring batch, ONNX Runtime", Shapes.Batch, head.ScoreOnnx));
                cases.Add(($"{OneView} scoring batch, TorchSharp", Shapes.Batch, oneView.Score));
                cases.Add(($"{OneView} scoring batch, ONNX Runtime", Shapes.Batch, oneView.ScoreOnnx));
                int rounds = size >= 256 ? 7 : 11;
                var (times, warmUp) = Timing.Interleaved(cases.Select(c => c.Run).ToList(), rounds);
                for (int c = 0; c < cases.Count; c++)
                {
                    Row(output, size, cases[c].Name, cases[c].Images, times[c]);
                }

                // Single-image latency: more samples, interleaved between the two runtimes.
                int samples = size >= 256 ? 40 : 100;
                var (latency, _) = Timing.Interleaved(new Action[] { daad.ScoreOne, daad.ScoreOneOnnx, head.ScoreOne, head.ScoreOneOnnx, oneView.ScoreOne, oneView.ScoreOneOnnx }, samples);
                Row(output, size, "Daad single image, TorchSharp", 1, latency[0]);
                Row(output, size, "Daad single image, ONNX Runtime", 1, latency[1]);
                Row(output, size, $"{withHead} single image, TorchSharp", 1, latency[2]);
                Row(output, size, $"{withHead} single image, ONNX Runtime", 1, latency[3]);
                Row(output, size, $"{OneView} single image, TorchSharp", 1, latency[4]);
                Row(output, size, $"{OneView} single image, ONNX Runtime", 1, latency[5]);
                output.WriteLine(FormattableString.Invariant($"|  | (warm-up: {warmUp} rounds until every case's last three times were within 10 %) | | | |"));
            }
            finally
            {
                foreach (var m in models)
                {
                    m.Dispose();
                }
            }
        }

        output.WriteLine();
        output.WriteLine("Resident memory, each row measured in a fresh process of its own (peak = VmHWM; steady = RSS after warm-up → after 30 more iterations, 10 at 256):");
        output.WriteLine("| case | size | peak RSS MB | steady RSS MB |");
        output.WriteLine("|---|---|---|---|");
        foreach (int size in sizes)
        {
            string folder = Directory.CreateTempSubdirectory("daad-bench-memory-").FullName;
            try
            {
                string daadPath = Path.Combine(folder, "model.daad"), onnxPath = Path.Combine(folder, "model.onnx");
                using (var detector = Pipeline.Build(ModelVariant.Daad, size))
                {
                    using var images = torch.rand(Shapes.Batch, 3, size, size);
                    detector.Fit(new TensorImageSource(images));
                    detector.Save(daadPath);
                    detector.ExportOnnx(onnxPath);
                }

                foreach (var variant in new[] { ModelVariant.AutoencoderSkip, ModelVariant.MemAE, ModelVariant.Daad })
                {
                    output.WriteLine($"| {variant} training and scoring, TorchSharp | {size} | {Child(new[] { "train", variant.ToString(), size.ToString(CultureInfo.InvariantCulture) })} |");
                }

                output.WriteLine($"| Daad scoring only, TorchSharp | {size} | {Child(new[] { "score-torch", daadPath, size.ToString(CultureInfo.InvariantCulture) })} |");
                output.WriteLine($"| Daad scoring only, ONNX Runtime (libtorch never loaded) | {size} | {Child(new[] { "score-onnx", onnxPath, size.ToString(CultureInfo.InvariantCulture) })} |");
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    /// <summary>
    /// <c>--memory-child</c>: one memory measurement in this fresh process; prints <c>peak | before → after</c>.
    /// <c>train &lt;variant&gt; &lt;size&gt;</c> trains and scores; <c>score-torch &lt;model.daad&gt; &lt;size&gt;</c> and
    /// <c>score-onnx &lt;model.onnx&gt; &lt;size&gt;</c> only score (the ONNX case never touches TorchSharp).
    /// </summary>
    public static void MemoryChild(TextWriter output, string[] args)
    {
        string kind = args[0];
        int size = int.Parse(args[2], CultureInfo.InvariantCulture);
        int iterations = size >= 256 ? 10 : 30;
        var random = new Random(1);
        var batch = Enumerable.Range(0, Shapes.Batch)
            .Select(_ => new FloatImage(3, size, size, Enumerable.Range(0, 3 * size * size).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()))
            .ToArray();
        Action iteration;
        IDisposable owner;
        switch (kind)
        {
            case "train":
                torch.set_num_threads(Environment.ProcessorCount);
                var model = new Pipeline.Model(Enum.Parse<ModelVariant>(args[1]), size);
                iteration = () =>
                {
                    model.TrainingStep();
                    model.Score();
                };
                owner = model;
                break;
            case "score-torch":
                torch.set_num_threads(Environment.ProcessorCount);
                var detector = AnomalyDetector.Load(args[1]);
                iteration = () => detector.Score(batch);
                owner = detector;
                break;
            case "score-onnx":
                var onnx = Onnx.OnnxAnomalyScorer.Load(args[1], "cpu", Environment.ProcessorCount);
                iteration = () => onnx.Score(batch);
                owner = onnx;
                break;
            default:
                throw new ArgumentException($"unknown memory case '{kind}'");
        }

        using (owner)
        {
            iteration();
            iteration();
            double before = Pipeline.RssMegabytes();
            for (int i = 0; i < iterations; i++)
            {
                iteration();
            }

            output.WriteLine(FormattableString.Invariant($"{Pipeline.PeakRssMegabytes():F0} | {before:F0} → {Pipeline.RssMegabytes():F0}"));
        }
    }

    /// <summary>Runs <see cref="MemoryChild"/> in a new process of this program and returns its line.</summary>
    private static string Child(string[] args)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("The process path is unknown.");
        var start = new System.Diagnostics.ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(PipelineMode).Assembly.Location);
        }

        start.ArgumentList.Add("--memory-child");
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string line = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0 ? line : $"failed (exit {process.ExitCode}): {stderr.Result.Split('\n').FirstOrDefault()}";
    }

    private static void Row(TextWriter output, int size, string name, int images, double[] times) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {size} | {name} | {Timing.Spread(times)} | {images * 1000 / Timing.Median(times):F1} | {Timing.Percentile(times, 0.99):F1} |"));
}
