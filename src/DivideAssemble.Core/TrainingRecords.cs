namespace DivideAssemble;

/// <summary>Progress of a training run, reported after every step and at the end of every epoch.</summary>
public sealed record TrainingProgress
{
    /// <summary>Gets the 1-based epoch.</summary>
    public required int Epoch { get; init; }

    /// <summary>Gets the number of epochs of the run.</summary>
    public required int Epochs { get; init; }

    /// <summary>Gets the 1-based step within the epoch.</summary>
    public required int Step { get; init; }

    /// <summary>Gets the number of steps per epoch.</summary>
    public required int StepsPerEpoch { get; init; }

    /// <summary>Gets the weighted total generator loss of the step.</summary>
    public required double Loss { get; init; }

    /// <summary>Gets the reconstruction loss L_rec (mean squared error) of the step.</summary>
    public required double ReconstructionLoss { get; init; }

    /// <summary>Gets the generator's adversarial loss L_adv (DAAD+ only).</summary>
    public double? AdversarialLoss { get; init; }

    /// <summary>Gets the alignment loss L_ali (DAAD+ only).</summary>
    public double? AlignmentLoss { get; init; }

    /// <summary>Gets the discriminator loss (DAAD+ only).</summary>
    public double? DiscriminatorLoss { get; init; }

    /// <summary>Gets the discriminative head's focal loss (with a head only).</summary>
    public double? HeadLoss { get; init; }

    /// <summary>Gets the validation loss, on the end-of-epoch report when a validation split exists: the reconstruction loss of the held-back images, or with synthetic anomalies what the generator and head are trained on, measured on those images with anomalies painted by a fixed seed.</summary>
    public double? ValidationLoss { get; init; }

    /// <summary>Gets a value indicating whether this report closes an epoch.</summary>
    public bool EndOfEpoch { get; init; }

    /// <summary>Gets the training throughput so far, in images per second.</summary>
    public required double ImagesPerSecond { get; init; }

    /// <summary>Gets the time since the run started.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Gets the estimated time to the end of the run.</summary>
    public required TimeSpan EstimatedRemaining { get; init; }
}

/// <summary>One epoch's mean losses.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Loss">Mean weighted generator loss.</param>
/// <param name="ReconstructionLoss">Mean reconstruction loss.</param>
/// <param name="ValidationLoss">Validation reconstruction loss, if a validation split exists.</param>
/// <param name="DiscriminatorLoss">Mean discriminator loss (DAAD+).</param>
public sealed record EpochLosses(int Epoch, double Loss, double ReconstructionLoss, double? ValidationLoss, double? DiscriminatorLoss)
{
    /// <summary>Gets the mean focal loss of the discriminative head (<see langword="null"/> without a head).</summary>
    public double? HeadLoss { get; init; }
}

/// <summary>What a training run did.</summary>
/// <param name="EpochsCompleted">Epochs completed, counting epochs done before a resume.</param>
/// <param name="History">Per-epoch losses.</param>
/// <param name="Duration">Wall-clock time of this run.</param>
/// <param name="StoppedEarly">Whether early stopping ended the run.</param>
/// <param name="BestEpoch">The epoch whose weights were kept when keep-best is on, otherwise the last.</param>
/// <param name="Calibration">The calibration measured after training.</param>
/// <param name="TrainingImages">Number of images trained on.</param>
/// <param name="ValidationImages">Number of normal images held back for validation and calibration.</param>
/// <param name="AddressingEntropy">
/// Per memory scale, the mean addressing entropy on calibration images divided by log N: 1 means
/// every read is a uniform average of the bank, values near 0 mean each block reads a few items.
/// </param>
public sealed record TrainingSummary(
    int EpochsCompleted,
    IReadOnlyList<EpochLosses> History,
    TimeSpan Duration,
    bool StoppedEarly,
    int BestEpoch,
    ScoreCalibration Calibration,
    int TrainingImages,
    int ValidationImages,
    IReadOnlyDictionary<int, double> AddressingEntropy)
{
    /// <summary>Gets what the run wants the user to know before trusting the model (empty when nothing): for now, a threshold calibrated on too few images (<see cref="ScoreCalibration.Warning"/>).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<string> Warnings => Calibration.Warning is { } w ? new[] { w } : Array.Empty<string>();

    private bool PrintMembers(System.Text.StringBuilder builder) => RecordText.Print(this, builder);
}

/// <summary>Thrown when a loss or gradient becomes NaN or infinite; training stops before the weights are updated.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets the 1-based epoch at which training diverged.</summary>
    public int Epoch { get; init; }

    /// <summary>Gets the 1-based step within the epoch at which training diverged.</summary>
    public int Step { get; init; }
}

/// <summary>An <see cref="IProgress{T}"/> that calls its action on the reporting thread (<see cref="Progress{T}"/> posts to the thread pool).</summary>
/// <typeparam name="T">The progress value.</typeparam>
internal sealed class SynchronousProgress<T> : IProgress<T>
{
    private readonly Action<T> action;

    public SynchronousProgress(Action<T> action) => this.action = action;

    public void Report(T value) => action(value);
}
