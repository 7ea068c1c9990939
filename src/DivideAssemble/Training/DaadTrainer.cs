using System.Diagnostics;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble;

/// <summary>
/// The training loop of DAAD and DAAD+: the generator step (λ_rec·L_rec, plus λ_adv·L_adv +
/// λ_ali·L_ali for DAAD+), then the discriminator step on detached reconstructions; Adam for both.
/// </summary>
internal sealed class DaadTrainer
{
    private readonly DaadOptions options;
    private readonly DaadGenerator generator;
    private readonly DcganDiscriminator? discriminator;
    private readonly AnomalyScorer scorer;
    private readonly Device device;
    private readonly ILogger logger;

    public DaadTrainer(DaadOptions options, DaadGenerator generator, DcganDiscriminator? discriminator, AnomalyScorer scorer, Device device, ILogger logger)
    {
        this.options = options;
        this.generator = generator;
        this.discriminator = discriminator;
        this.scorer = scorer;
        this.device = device;
        this.logger = logger;
    }

    public AdamOptimizer CreateGeneratorOptimizer() => new(
        generator.parameters(), options.Training.LearningRate, options.Training.Beta1, options.Training.Beta2, options.Training.WeightDecay);

    public AdamOptimizer? CreateDiscriminatorOptimizer() => discriminator is null ? null : new(
        discriminator.parameters(), options.Training.DiscriminatorLearningRate, options.Training.Beta1, options.Training.Beta2, options.Training.WeightDecay);

    /// <summary>Splits image indices deterministically into training and held-back validation indices.</summary>
    public static (int[] Train, int[] Validation) Split(int count, double fraction, int seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(seed).Shuffle(order);
        int validation = fraction <= 0 || count < 2 ? 0 : Math.Clamp((int)Math.Round(count * fraction), 1, count - 1);
        var train = order.Take(count - validation).OrderBy(i => i).ToArray();
        var held = order.Skip(count - validation).OrderBy(i => i).ToArray();
        return (train, held);
    }

    public TrainingSummary Run(
        IImageSource source,
        AdamOptimizer optG,
        AdamOptimizer? optD,
        CheckpointState state,
        string? checkpointPath,
        Func<CheckpointState, ModelHeader> checkpointHeader,
        IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        var t = options.Training;
        var net = options.Network;
        if (source.Count == 0)
        {
            throw new ArgumentException("The image source holds no images to train on.", nameof(source));
        }

        var (train, validation) = Split(source.Count, t.ValidationFraction, options.Seed);
        var reader = new BatchReader(source, net.Channels, net.ImageSize);
        int steps = (train.Length + t.BatchSize - 1) / t.BatchSize;
        int startEpoch = state.EpochsCompleted;
        int totalSteps = Math.Max(1, (t.Epochs - startEpoch) * steps);
        logger.LogInformation(
            "Training {Variant} on {Train} images ({Validation} held back) for epochs {From}..{To}, {Steps} steps per epoch, device {Device}.",
            net.Variant, train.Length, validation.Length, startEpoch + 1, t.Epochs, steps, device);

        var clock = Stopwatch.StartNew();
        long imagesSeen = 0;
        int stepsDone = 0;
        Dictionary<string, Tensor>? best = null;
        bool stoppedEarly = false;
        bool cancelled = false;

        try
        {
            for (int epoch = startEpoch + 1; epoch <= t.Epochs && !cancelled; epoch++)
            {
                generator.train();
                discriminator?.train();
                var rng = new Random(EpochSeed(options.Seed, epoch));
                var order = train.ToArray();
                rng.Shuffle(order);
                double sumLoss = 0, sumRec = 0, sumD = 0;
                int step = 0;
                foreach (var (indices, data) in reader.Batches(order, t.BatchSize, CancellationToken.None))
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        cancelled = true;
                        break;
                    }

                    step++;
                    var losses = Step(reader, data, indices.Count, rng, optG, optD, epoch, step);
                    sumLoss += losses.Total;
                    sumRec += losses.Rec;
                    sumD += losses.D ?? 0;
                    imagesSeen += indices.Count;
                    stepsDone++;
                    double rate = imagesSeen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                    progress?.Report(new TrainingProgress
                    {
                        Epoch = epoch,
                        Epochs = t.Epochs,
                        Step = step,
                        StepsPerEpoch = steps,
                        Loss = losses.Total,
                        ReconstructionLoss = losses.Rec,
                        AdversarialLoss = losses.Adv,
                        AlignmentLoss = losses.Ali,
                        DiscriminatorLoss = losses.D,
                        ImagesPerSecond = rate,
                        Elapsed = clock.Elapsed,
                        EstimatedRemaining = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / stepsDone * Math.Max(0, totalSteps - stepsDone)),
                    });
                }

                if (cancelled || step == 0)
                {
                    break;
                }

                double? valLoss = validation.Length > 0 ? ValidationLoss(reader, validation) : null;
                var record = new EpochLosses(epoch, sumLoss / step, sumRec / step, valLoss, discriminator is null ? null : sumD / step);
                state.History.Add(record);
                state.EpochsCompleted = epoch;
                logger.LogInformation("Epoch {Epoch}/{Epochs}: loss {Loss:G5}, L_rec {Rec:G5}, validation {Val}", epoch, t.Epochs, record.Loss, record.ReconstructionLoss, valLoss?.ToString("G5") ?? "n/a");
                progress?.Report(new TrainingProgress
                {
                    Epoch = epoch,
                    Epochs = t.Epochs,
                    Step = step,
                    StepsPerEpoch = steps,
                    Loss = record.Loss,
                    ReconstructionLoss = record.ReconstructionLoss,
                    DiscriminatorLoss = record.DiscriminatorLoss,
                    ValidationLoss = valLoss,
                    EndOfEpoch = true,
                    ImagesPerSecond = imagesSeen / Math.Max(clock.Elapsed.TotalSeconds, 1e-9),
                    Elapsed = clock.Elapsed,
                    EstimatedRemaining = TimeSpan.FromSeconds(clock.Elapsed.TotalSeconds / Math.Max(1, stepsDone) * Math.Max(0, totalSteps - stepsDone)),
                });

                double monitored = valLoss ?? record.ReconstructionLoss;
                if (monitored < state.BestValidationLoss)
                {
                    state.BestValidationLoss = monitored;
                    state.BestEpoch = epoch;
                    state.EpochsWithoutImprovement = 0;
                    if (t.KeepBest)
                    {
                        DisposeAll(best);
                        best = Snapshot();
                    }
                }
                else
                {
                    state.EpochsWithoutImprovement++;
                }

                if (checkpointPath is not null && t.CheckpointEvery > 0 && epoch % t.CheckpointEvery == 0)
                {
                    var header = checkpointHeader(state);
                    ModelFile.WriteAtomically(checkpointPath, s => ModelFile.Write(s, header, generator, discriminator, optG, optD));
                    logger.LogInformation("Checkpoint written to {Path} after epoch {Epoch}.", checkpointPath, epoch);
                }

                if (t.EarlyStoppingPatience > 0 && state.EpochsWithoutImprovement >= t.EarlyStoppingPatience)
                {
                    logger.LogInformation("Early stop after epoch {Epoch}: no improvement for {Patience} epochs.", epoch, t.EarlyStoppingPatience);
                    stoppedEarly = true;
                    break;
                }
            }

            if (best is not null)
            {
                Restore(best);
            }
        }
        finally
        {
            DisposeAll(best);
        }

        // Calibrate on normal images the model has not trained on when there are any.
        var calibrationIndices = validation.Length > 0 ? validation : train;
        var calibration = scorer.Calibrate(
            reader.Tensors(calibrationIndices, options.Training.BatchSize, device),
            heldOut: validation.Length > 0);
        logger.LogInformation(
            "Calibrated on {Count} normal images: threshold {Threshold:G5}, pixel threshold {Pixel:G5}.",
            calibration.ImageCount, calibration.Threshold, calibration.PixelThreshold);
        var entropy = AddressingEntropy(reader, calibrationIndices);
        if (entropy.Count > 0)
        {
            logger.LogInformation("Addressing entropy / log N per scale: {Entropy}", string.Join(", ", entropy.Select(e => $"{e.Key}: {e.Value:F3}")));
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new TrainingSummary(state.EpochsCompleted, state.History.ToList(), clock.Elapsed, stoppedEarly, t.KeepBest ? state.BestEpoch : state.EpochsCompleted, calibration, train.Length, validation.Length, entropy);
    }

    /// <summary>Mean addressing entropy over log N per memory scale, on one batch of <paramref name="indices"/>.</summary>
    private Dictionary<int, double> AddressingEntropy(BatchReader reader, int[] indices)
    {
        var result = new Dictionary<int, double>();
        if (generator.Memories.Count == 0 || indices.Length == 0)
        {
            return result;
        }

        var batch = indices.Take(options.Training.BatchSize).ToArray();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        generator.eval();
        var x = reader.ToTensor(reader.ReadFloats(batch), device);
        foreach (var (scale, weights) in generator.Address(x))
        {
            result[scale] = BlockMemory.AddressingEntropy(weights) / Math.Log(options.Network.MemoryItems);
        }

        return result;
    }

    /// <summary>A per-epoch seed that is the same in every process (unlike HashCode.Combine), so runs and resumes repeat exactly.</summary>
    private static int EpochSeed(int seed, int epoch) => unchecked((seed * 1_000_003) + (epoch * 7_919) + 0x5eed);

    private (double Total, double Rec, double? Adv, double? Ali, double? D) Step(
        BatchReader reader, float[] data, int count, Random rng, AdamOptimizer optG, AdamOptimizer? optD, int epoch, int step)
    {
        var t = options.Training;
        using var scope = NewDisposeScope();
        var x = reader.ToTensor(data, device);
        x = Augment(x, count, rng);

        var recon = generator.forward(x);
        var rec = Losses.Reconstruction(x, recon);
        var loss = ScalarMath.Mul(rec, t.ReconstructionWeight);
        Tensor? adv = null, ali = null;
        if (discriminator is not null)
        {
            var (fakeLogits, fakeFeatures) = discriminator.forward(recon);
            Tensor realFeatures;
            using (no_grad())
            {
                realFeatures = discriminator.forward(x).Features;
            }

            adv = Losses.GeneratorAdversarial(fakeLogits);
            ali = Losses.Alignment(realFeatures, fakeFeatures, t.NormalizeFeatures);
            loss = loss + ScalarMath.Mul(adv, t.AdversarialWeight) + ScalarMath.Mul(ali, t.AlignmentWeight);
        }

        double total = loss.item<float>();
        if (!double.IsFinite(total))
        {
            throw Diverged(epoch, step, $"the generator loss is {total}");
        }

        optG.ZeroGrad();
        loss.backward();
        CheckGradients(generator, epoch, step, "generator");
        optG.Step();

        double? dLoss = null;
        if (discriminator is not null && optD is not null)
        {
            optD.ZeroGrad();
            var (realLogits, _) = discriminator.forward(x);
            var (fakeLogits, _) = discriminator.forward(recon.detach());
            var d = Losses.Discriminator(realLogits, fakeLogits);
            dLoss = d.item<float>();
            if (!double.IsFinite(dLoss.Value))
            {
                throw Diverged(epoch, step, $"the discriminator loss is {dLoss}");
            }

            d.backward();
            CheckGradients(discriminator, epoch, step, "discriminator");
            optD.Step();
        }

        return (total, rec.item<float>(), adv?.item<float>(), ali?.item<float>(), dLoss);
    }

    private Tensor Augment(Tensor x, int count, Random rng)
    {
        var t = options.Training;
        if (t.HorizontalFlip)
        {
            x = FlipSome(x, count, rng, 3);
        }

        if (t.VerticalFlip)
        {
            x = FlipSome(x, count, rng, 2);
        }

        return x;
    }

    private Tensor FlipSome(Tensor x, int count, Random rng, long dim)
    {
        var flags = new bool[count];
        for (int i = 0; i < count; i++)
        {
            flags[i] = rng.Next(2) == 1;
        }

        if (!flags.Any(f => f))
        {
            return x;
        }

        var mask = tensor(flags, device: device).reshape(count, 1, 1, 1);
        return where(mask, x.flip(dim), x);
    }

    private static void CheckGradients(nn.Module module, int epoch, int step, string name)
    {
        using var scope = NewDisposeScope();
        var sums = module.parameters().Where(p => p.grad is not null).Select(p => p.grad!.abs().sum()).ToArray();
        if (sums.Length == 0)
        {
            return;
        }

        double total = stack(sums).sum().item<float>();
        if (!double.IsFinite(total))
        {
            throw Diverged(epoch, step, $"the {name}'s gradients are not finite");
        }
    }

    private static TrainingDivergedException Diverged(int epoch, int step, string what) =>
        new($"Training stopped at epoch {epoch}, step {step}: {what}. The weights were not updated with it; lower the learning rate or check the input data.")
        {
            Epoch = epoch,
            Step = step,
        };

    private double ValidationLoss(BatchReader reader, int[] validation)
    {
        generator.eval();
        double sum = 0;
        int n = 0;
        foreach (var (indices, data) in reader.Batches(validation, options.Training.BatchSize))
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = reader.ToTensor(data, device);
            var recon = generator.forward(x);
            sum += Losses.Reconstruction(x, recon).item<float>() * indices.Count;
            n += indices.Count;
        }

        generator.train();
        return sum / Math.Max(1, n);
    }

    private Dictionary<string, Tensor> Snapshot()
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (k, v) in generator.state_dict())
        {
            result["g." + k] = v.detach().clone();
        }

        if (discriminator is not null)
        {
            foreach (var (k, v) in discriminator.state_dict())
            {
                result["d." + k] = v.detach().clone();
            }
        }

        return result;
    }

    private void Restore(Dictionary<string, Tensor> snapshot)
    {
        using var noGrad = no_grad();
        foreach (var (k, v) in generator.state_dict())
        {
            v.copy_(snapshot["g." + k]);
        }

        if (discriminator is not null)
        {
            foreach (var (k, v) in discriminator.state_dict())
            {
                v.copy_(snapshot["d." + k]);
            }
        }
    }

    private static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        if (tensors is null)
        {
            return;
        }

        foreach (var v in tensors.Values)
        {
            v.Dispose();
        }

        tensors.Clear();
    }
}
