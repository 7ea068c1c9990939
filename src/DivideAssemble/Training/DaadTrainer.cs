using System.Diagnostics;
using DivideAssemble.Data;
using DivideAssemble.Modules;
using DivideAssemble.Persistence;
using DivideAssemble.Torch;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Training;

/// <summary>
/// The training loop of DAAD and DAAD+: epochs of shuffled, augmented batches through one
/// <see cref="TrainingStep"/>, with everything else — validation loss, best-epoch tracking and
/// keep-best weights, early stopping, checkpoints, progress, and calibration at the end — in
/// <see cref="ITrainingCallback"/>s called in a fixed order.
/// </summary>
internal sealed class DaadTrainer
{
    private readonly TrainingRun run;
    private readonly TrainingStep step;
    private readonly IReadOnlyList<ITrainingCallback> callbacks;

    public DaadTrainer(TrainingRun run, IReadOnlyList<ITrainingCallback> callbacks)
    {
        this.run = run;
        this.callbacks = callbacks;
        step = new TrainingStep(run.Options, run.Generator, run.Discriminator, run.Networks.Head, run.Optimizers.Generator, run.Optimizers.Discriminator, run.Optimizers.Head);
    }

    /// <summary>The callbacks of a detector's training run, in the order they run: validation loss, best epoch, early stopping, checkpoints (with a path), progress, calibration.</summary>
    public static List<ITrainingCallback> Callbacks(string? checkpointPath, Func<CheckpointState, ModelHeader> header, IProgress<TrainingProgress>? progress, AnomalyScorer scorer)
    {
        var callbacks = new List<ITrainingCallback> { new ValidationLossCallback(), new BestEpochCallback(), new EarlyStoppingCallback() };
        if (checkpointPath is not null)
        {
            callbacks.Add(new CheckpointCallback(checkpointPath, header));
        }

        callbacks.Add(new ProgressCallback(progress));
        callbacks.Add(new CalibrationCallback(scorer));
        return callbacks;
    }

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

    /// <summary>A per-epoch seed that is the same in every process (unlike HashCode.Combine), so runs and resumes repeat exactly.</summary>
    public static int EpochSeed(int seed, int epoch) => unchecked((seed * 1_000_003) + (epoch * 7_919) + 0x5eed);

    /// <summary>The seed of an epoch's synthetic anomalies: apart from <see cref="EpochSeed"/>, so the shuffle and flips are those of a run without them.</summary>
    public static int SynthesisSeed(int seed, int epoch) => unchecked(EpochSeed(seed, epoch) ^ 0x0A5E_11E5);

    /// <summary>Trains from the run's state to its last epoch (or an early stop or a cancellation), then ends the run.</summary>
    /// <exception cref="TrainingDivergedException">A loss or gradient became non-finite; the weights were not updated with it.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the run was ended first (the model is calibrated and usable).</exception>
    public TrainingSummary Run(CancellationToken cancellationToken)
    {
        var t = run.Options.Training;
        run.Logger.LogInformation(
            "Training {Variant} on {Train} images ({Validation} held back) for epochs {From}..{To}, {Steps} steps per epoch, device {Device}.",
            run.Options.Network.Variant, run.TrainIndices.Length, run.ValidationIndices.Length, run.State.EpochsCompleted + 1, t.Epochs, run.StepsPerEpoch, run.Device);
        if (run.InitialiseMemories)
        {
            InitialiseMemories();
        }

        try
        {
            int total = run.Options.TotalEpochs();
            for (int epoch = run.State.EpochsCompleted + 1; epoch <= total; epoch++)
            {
                if (epoch == t.Epochs + 1)
                {
                    BeginHeadEpochs();
                }

                if (!RunEpoch(epoch, cancellationToken))
                {
                    break;
                }

                foreach (var c in callbacks)
                {
                    c.OnEpochEnd(run);
                }

                if (run.StopRequested)
                {
                    if (run.InHeadEpochs || total == t.Epochs)
                    {
                        break;
                    }

                    run.StopRequested = false; // an early stop of the generator's epochs goes on to the head's
                    epoch = t.Epochs;
                }
            }
        }
        finally
        {
            run.Networks.Train(false);
        }

        foreach (var c in callbacks)
        {
            c.OnRunEnd(run);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new TrainingSummary(
            run.State.EpochsCompleted,
            run.State.History.ToList(),
            run.Clock.Elapsed,
            run.StoppedEarly,
            t.KeepBest ? run.State.BestEpoch : run.State.EpochsCompleted,
            run.Calibration ?? throw new InvalidOperationException("The run ended without a calibration."),
            run.TrainIndices.Length,
            run.ValidationIndices.Length,
            run.AddressingEntropy);
    }

    /// <summary>
    /// Between the generator's epochs and the head's: the generator gets its kept-best weights, and the best-epoch
    /// tracking starts again for the head (a resumed run passes here too, from the checkpoint's state).
    /// </summary>
    private void BeginHeadEpochs()
    {
        foreach (var c in callbacks.OfType<BestEpochCallback>())
        {
            c.OnRunEnd(run);
        }

        run.State.StartOverBest();
        run.Logger.LogInformation("The generator is frozen; the discriminative head trains for epochs {From}..{To}.", run.Options.Training.Epochs + 1, run.Options.TotalEpochs());
    }

    /// <summary>One epoch of shuffled, augmented steps; records its losses and returns true, or false when it was cancelled (or had no step).</summary>
    /// <exception cref="TrainingDivergedException">A loss or gradient became non-finite.</exception>
    private bool RunEpoch(int epoch, CancellationToken cancellationToken)
    {
        run.Epoch = epoch;
        bool head = run.InHeadEpochs;
        run.TrainLearningNetworks();
        var rng = new Random(EpochSeed(run.Options.Seed, epoch));
        var anomalies = step.Synthesises || head ? new Random(SynthesisSeed(run.Options.Seed, epoch)) : null;
        var order = run.TrainIndices.ToArray();
        rng.Shuffle(order);
        double sumLoss = 0, sumRec = 0, sumD = 0, sumHead = 0;
        int steps = 0;
        foreach (var batch in run.Reader.Batches(order, run.Options.Training.BatchSize, CancellationToken.None))
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            run.Step = ++steps;
            StepOutcome outcome;
            using (var scope = NewDisposeScope())
            {
                var x = Augment(run.Reader.ToTensor(batch.Data, run.Device), batch.Indices.Count, rng);
                outcome = head ? step.RunHead(x, anomalies!) : step.Run(x, anomalies);
            }

            if (outcome.Problem is not null)
            {
                throw new TrainingDivergedException($"Training stopped at epoch {epoch}, step {steps}: {outcome.Problem}. The weights were not updated with it; lower the learning rate or check the input data.")
                {
                    Epoch = epoch,
                    Step = steps,
                };
            }

            sumLoss += outcome.Total;
            sumRec += outcome.Reconstruction;
            sumD += outcome.Discriminator ?? 0;
            sumHead += outcome.Head ?? 0;
            run.ImagesSeen += batch.Indices.Count;
            run.StepsDone++;
            foreach (var c in callbacks)
            {
                c.OnStep(run, outcome);
            }
        }

        if (steps == 0)
        {
            return false;
        }

        run.State.History.Add(new EpochLosses(epoch, sumLoss / steps, sumRec / steps, null, run.Discriminator is null || head ? null : sumD / steps)
        {
            HeadLoss = head ? sumHead / steps : null,
        });
        run.State.EpochsCompleted = epoch;
        return true;
    }

    /// <summary>
    /// <see cref="MemoryInit.Samples"/>: items from the blocks of a seeded sample of the training images
    /// (enough images for every item to start from a distinct block at the scale with the fewest blocks,
    /// at least 32, at most all of them).
    /// </summary>
    private void InitialiseMemories()
    {
        const int Chunk = 32;
        var network = run.Options.Network;
        long fewestBlocks = run.Generator.Scales.Where(p => p.HasMemory).Min(p => p.BlockCount);
        int wanted = (int)Math.Min(run.TrainIndices.Length, Math.Max(Chunk, (network.MemoryItems + fewestBlocks - 1) / fewestBlocks));
        var rng = new Random(EpochSeed(run.Options.Seed, 0));
        var order = run.TrainIndices.ToArray();
        rng.Shuffle(order);
        var sample = order.Take(wanted).Order().ToArray();
        using var scope = NewDisposeScope();
        run.Generator.InitialiseMemories(run.Reader.Batches(sample, Chunk, CancellationToken.None).Select(b => run.Reader.ToTensor(b.Data, run.Device)), rng);
        run.Logger.LogInformation("Memory items initialised from {Images} training images.", wanted);
    }

    private Tensor Augment(Tensor x, int count, Random rng)
    {
        var t = run.Options.Training;
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

        var mask = tensor(flags, device: run.Device).reshape(count, 1, 1, 1);
        return where(mask, x.flip(dim), x);
    }
}

/// <summary>What the loop and its callbacks share during one training run.</summary>
internal sealed class TrainingRun
{
    public required DaadOptions Options { get; init; }

    public required ModelNetworks Networks { get; init; }

    public required AdamOptimizers Optimizers { get; init; }

    public DaadGenerator Generator => Networks.Generator;

    public DcganDiscriminator? Discriminator => Networks.Discriminator;

    public required Device Device { get; init; }

    public required BatchReader Reader { get; init; }

    public required int[] TrainIndices { get; init; }

    public required int[] ValidationIndices { get; init; }

    /// <summary>Gets the state a checkpoint saves and a resume restores.</summary>
    public required CheckpointState State { get; init; }

    public required ILogger Logger { get; init; }

    /// <summary>Gets a value indicating whether the run starts the memories from training images (<see cref="MemoryInit.Samples"/>, a model that was never trained).</summary>
    public bool InitialiseMemories { get; init; }

    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public int StepsPerEpoch => (TrainIndices.Length + Options.Training.BatchSize - 1) / Options.Training.BatchSize;

    /// <summary>Gets the number of steps left when the run started (for estimates).</summary>
    public int StepsPlanned => Math.Max(1, (Options.TotalEpochs() - StartEpoch) * StepsPerEpoch);

    /// <summary>Gets a value indicating whether the current epoch is one of the head's, after the generator's.</summary>
    public bool InHeadEpochs => Epoch > Options.Training.Epochs;

    /// <summary>Gets the last epoch of the current phase: the generator's last, or the run's last in the head's epochs.</summary>
    public int PhaseEnd => InHeadEpochs ? Options.TotalEpochs() : Options.Training.Epochs;

    /// <summary>Puts the networks that learn in the current epoch in training mode and the others in evaluation mode (the generator is frozen in the head's epochs).</summary>
    public void TrainLearningNetworks()
    {
        bool head = InHeadEpochs;
        Networks.Train(!head);
        Networks.Head?.train(head);
    }

    public int StartEpoch { get; init; }

    public int Epoch { get; set; }

    public int Step { get; set; }

    public long ImagesSeen { get; set; }

    public int StepsDone { get; set; }

    /// <summary>Gets or sets a value indicating whether a callback asked the loop to stop after this epoch.</summary>
    public bool StopRequested { get; set; }

    public bool StoppedEarly { get; set; }

    public ScoreCalibration? Calibration { get; set; }

    public IReadOnlyDictionary<int, double> AddressingEntropy { get; set; } = new Dictionary<int, double>();

    /// <summary>Gets the record of the epoch that just ended.</summary>
    public EpochLosses LastEpoch => State.History[^1];

    /// <summary>Replaces the record of the epoch that just ended (a callback adding what it measured).</summary>
    public void UpdateLastEpoch(EpochLosses record) => State.History[^1] = record;
}
