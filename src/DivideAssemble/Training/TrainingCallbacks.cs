using DivideAssemble.Persistence;
using DivideAssemble.Torch;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Training;

/// <summary>A part of a training run that is not the optimisation step itself, called by <see cref="DaadTrainer"/> in list order.</summary>
internal interface ITrainingCallback
{
    /// <summary>After every step.</summary>
    void OnStep(TrainingRun run, StepOutcome step)
    {
    }

    /// <summary>After every epoch; the epoch's record is <see cref="TrainingRun.LastEpoch"/>.</summary>
    void OnEpochEnd(TrainingRun run)
    {
    }

    /// <summary>Once, when the loop has ended (all epochs, an early stop or a cancellation).</summary>
    void OnRunEnd(TrainingRun run)
    {
    }
}

/// <summary>
/// Measures the validation loss on the held-back normal images after every epoch: what the epoch minimised —
/// the reconstruction loss; with restoration the generator's L2 + 1 − SSIM on the images with anomalies painted
/// by a fixed seed (the same every epoch); in the head's epochs the head's focal loss on such images.
/// </summary>
internal sealed class ValidationLossCallback : ITrainingCallback
{
    public void OnEpochEnd(TrainingRun run)
    {
        if (run.ValidationIndices.Length == 0)
        {
            return;
        }

        run.Networks.Train(false);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var options = run.Options;
        bool head = run.InHeadEpochs;
        bool restoration = options.EffectiveRestoration();
        var synthesis = head || restoration ? new AnomalySynthesis(options.Training) : null;
        var random = synthesis is null ? null : new Random(DaadTrainer.SynthesisSeed(options.Seed, 0));
        var sum = zeros(1, dtype: float64, device: run.Device);
        foreach (var x in run.Reader.Tensors(run.ValidationIndices, options.Training.BatchSize, run.Device))
        {
            using var batchScope = NewDisposeScope();
            var batch = AnomalySynthesis.Prepare(synthesis, restoration && !head, x, random);
            var recon = run.Generator.call(batch.Input);
            var loss = head ? Losses.Focal(run.Networks.Head!.call(batch.Input, recon), batch.Masks!) : Losses.Generator(batch.Target, recon, restoration);
            using var count = ((double)x.shape[0]).ToScalar();
            sum.add_(loss.to(float64).mul(count), ScalarMath.One);
        }

        double value = sum.item<double>() / run.ValidationIndices.Length;
        run.UpdateLastEpoch(run.LastEpoch with { ValidationLoss = value });
        run.TrainLearningNetworks();
    }
}

/// <summary>
/// Tracks the best epoch (lowest validation loss, else training reconstruction loss) and, with
/// <see cref="TrainingOptions.KeepBest"/>, keeps a copy of its weights — in the checkpoint too, so a
/// resumed run still ends with the best epoch's weights — and restores them when the run ends.
/// </summary>
internal sealed class BestEpochCallback : ITrainingCallback
{
    public void OnEpochEnd(TrainingRun run)
    {
        var state = run.State;
        var record = run.LastEpoch;
        double monitored = record.ValidationLoss ?? record.HeadLoss ?? record.ReconstructionLoss;
        if (monitored < state.BestValidationLoss)
        {
            state.BestValidationLoss = monitored;
            state.BestEpoch = record.Epoch;
            state.EpochsWithoutImprovement = 0;
            if (run.Options.Training.KeepBest)
            {
                state.ReplaceBestWeights(Snapshot(run));
            }
        }
        else
        {
            state.EpochsWithoutImprovement++;
        }
    }

    public void OnRunEnd(TrainingRun run)
    {
        if (!run.Options.Training.KeepBest || run.State.BestWeights is not { } best)
        {
            return;
        }

        using var noGrad = no_grad();
        foreach (var (key, value) in StateOf(run))
        {
            value.copy_(best[key]);
        }

        run.Logger.LogInformation("Kept the weights of epoch {Epoch} (lowest validation loss {Loss:G5}).", run.State.BestEpoch, run.State.BestValidationLoss);
    }

    /// <summary>Every network's state dictionary, keyed <c>g.…</c>, <c>d.…</c> and <c>h.…</c>.</summary>
    internal static IEnumerable<(string Key, Tensor Value)> StateOf(TrainingRun run) => run.Networks.State();

    private static Dictionary<string, Tensor> Snapshot(TrainingRun run)
    {
        var copy = new Dictionary<string, Tensor>();
        foreach (var (key, value) in StateOf(run))
        {
            copy[key] = value.detach().clone().DetachFromDisposeScope();
        }

        return copy;
    }
}

/// <summary>Stops the run when the monitored loss has not improved for <see cref="TrainingOptions.EarlyStoppingPatience"/> epochs.</summary>
internal sealed class EarlyStoppingCallback : ITrainingCallback
{
    public void OnEpochEnd(TrainingRun run)
    {
        int patience = run.Options.Training.EarlyStoppingPatience;
        if (patience > 0 && run.State.EpochsWithoutImprovement >= patience && run.State.EpochsCompleted < run.PhaseEnd)
        {
            run.Logger.LogInformation("Early stop after epoch {Epoch}: no improvement for {Patience} epochs.", run.Epoch, patience);
            run.StopRequested = true;
            run.StoppedEarly = true;
        }
    }
}

/// <summary>Writes a checkpoint (weights, optimiser states, run state, keep-best weights) every <see cref="TrainingOptions.CheckpointEvery"/> epochs.</summary>
internal sealed class CheckpointCallback : ITrainingCallback
{
    private readonly string path;
    private readonly Func<CheckpointState, ModelHeader> header;

    public CheckpointCallback(string path, Func<CheckpointState, ModelHeader> header)
    {
        this.path = path;
        this.header = header;
    }

    public void OnEpochEnd(TrainingRun run)
    {
        int every = run.Options.Training.CheckpointEvery;
        if (every <= 0 || run.Epoch % every != 0)
        {
            return;
        }

        var h = header(run.State);
        AtomicFile.Write(path, s => ModelFile.Write(s, h, run.Networks, run.Optimizers, run.State.BestWeights));
        run.Logger.LogInformation("Checkpoint written to {Path} after epoch {Epoch}.", path, run.Epoch);
    }
}

/// <summary>Reports <see cref="TrainingProgress"/> after every step and epoch, and logs each epoch.</summary>
internal sealed class ProgressCallback : ITrainingCallback
{
    private readonly IProgress<TrainingProgress>? progress;

    public ProgressCallback(IProgress<TrainingProgress>? progress) => this.progress = progress;

    public void OnStep(TrainingRun run, StepOutcome step) => progress?.Report(new TrainingProgress
    {
        Epoch = run.Epoch,
        Epochs = run.Options.TotalEpochs(),
        Step = run.Step,
        StepsPerEpoch = run.StepsPerEpoch,
        Loss = step.Total,
        ReconstructionLoss = step.Reconstruction,
        AdversarialLoss = step.Adversarial,
        AlignmentLoss = step.Alignment,
        DiscriminatorLoss = step.Discriminator,
        HeadLoss = step.Head,
        ImagesPerSecond = run.ImagesSeen / Math.Max(run.Clock.Elapsed.TotalSeconds, 1e-9),
        Elapsed = run.Clock.Elapsed,
        EstimatedRemaining = Remaining(run),
    });

    public void OnEpochEnd(TrainingRun run)
    {
        var record = run.LastEpoch;
        run.Logger.LogInformation("Epoch {Epoch}/{Epochs}: loss {Loss:G5}, L_rec {Rec:G5}, validation {Val}", record.Epoch, run.Options.TotalEpochs(), record.Loss, record.ReconstructionLoss, record.ValidationLoss?.ToString("G5") ?? "n/a");
        progress?.Report(new TrainingProgress
        {
            Epoch = run.Epoch,
            Epochs = run.Options.TotalEpochs(),
            Step = run.Step,
            StepsPerEpoch = run.StepsPerEpoch,
            Loss = record.Loss,
            ReconstructionLoss = record.ReconstructionLoss,
            DiscriminatorLoss = record.DiscriminatorLoss,
            HeadLoss = record.HeadLoss,
            ValidationLoss = record.ValidationLoss,
            EndOfEpoch = true,
            ImagesPerSecond = run.ImagesSeen / Math.Max(run.Clock.Elapsed.TotalSeconds, 1e-9),
            Elapsed = run.Clock.Elapsed,
            EstimatedRemaining = Remaining(run),
        });
    }

    private static TimeSpan Remaining(TrainingRun run) =>
        TimeSpan.FromSeconds(run.Clock.Elapsed.TotalSeconds / Math.Max(1, run.StepsDone) * Math.Max(0, run.StepsPlanned - run.StepsDone));
}

/// <summary>When the run ends: calibrates the scorer on the held-back normal images (the training images when none are held back) and measures the addressing entropy.</summary>
internal sealed class CalibrationCallback : ITrainingCallback
{
    private readonly AnomalyScorer scorer;

    public CalibrationCallback(AnomalyScorer scorer) => this.scorer = scorer;

    public void OnRunEnd(TrainingRun run)
    {
        bool heldOut = run.ValidationIndices.Length > 0;
        var indices = heldOut ? run.ValidationIndices : run.TrainIndices;
        run.Calibration = scorer.Calibrate(run.Reader.Tensors(indices, run.Options.Training.BatchSize, run.Device), heldOut);
        run.Logger.LogInformation(
            "Calibrated on {Count} normal images: threshold {Threshold:G5}, pixel threshold {Pixel:G5}.",
            run.Calibration.ImageCount, run.Calibration.Threshold, run.Calibration.PixelThreshold);
        if (run.Calibration.Warning is { } warning)
        {
            run.Logger.LogWarning("Calibration: {Warning}.", warning);
        }

        run.AddressingEntropy = Entropy(run, indices);
        if (run.AddressingEntropy.Count > 0)
        {
            run.Logger.LogInformation("Addressing entropy / log N per scale: {Entropy}", string.Join(", ", run.AddressingEntropy.Select(e => $"{e.Key}: {e.Value:F3}")));
        }
    }

    /// <summary>Mean addressing entropy over log N per memory scale, on one batch of <paramref name="indices"/>.</summary>
    internal static Dictionary<int, double> Entropy(TrainingRun run, int[] indices)
    {
        if (run.Generator.Memories.Count == 0 || indices.Length == 0)
        {
            return new Dictionary<int, double>();
        }

        var batch = indices.Take(run.Options.Training.BatchSize).ToArray();
        using var scope = NewDisposeScope();
        run.Generator.eval();
        return run.Generator.AddressingEntropy(run.Reader.ToTensor(run.Reader.ReadFloats(batch), run.Device));
    }
}
