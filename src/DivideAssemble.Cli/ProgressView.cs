using Spectre.Console;

namespace DivideAssemble.Cli;

/// <summary>Shows training progress: a live Spectre.Console bar in a terminal, one line per epoch when output is redirected.</summary>
internal static class ProgressView
{
    public static TrainingSummary Run(TextWriter stdout, Func<IProgress<TrainingProgress>, TrainingSummary> fit)
    {
        bool live = !Console.IsOutputRedirected && ReferenceEquals(stdout, Console.Out) && AnsiConsole.Profile.Capabilities.Interactive;
        if (!live)
        {
            return fit(new LineProgress(stdout));
        }

        TrainingSummary? summary = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: 1.0);
                summary = fit(new LiveProgress(task, stdout));
                task.Value = task.MaxValue;
            });
        return summary!;
    }

    private static string Describe(TrainingProgress p) =>
        FormattableString.Invariant($"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.StepsPerEpoch} loss {p.Loss:G4} L_rec {p.ReconstructionLoss:G4}")
        + (p.AdversarialLoss is { } adv ? $" L_adv {adv:G3}" : string.Empty)
        + (p.AlignmentLoss is { } ali ? $" L_ali {ali:G3}" : string.Empty)
        + (p.DiscriminatorLoss is { } d ? $" L_D {d:G3}" : string.Empty)
        + (p.HeadLoss is { } h ? $" L_head {h:G3}" : string.Empty)
        + (p.ValidationLoss is { } v ? $" val {v:G4}" : string.Empty)
        + FormattableString.Invariant($" {p.ImagesPerSecond:F1} img/s ETA {p.EstimatedRemaining:hh\\:mm\\:ss}");

    /// <summary>Selection progress as lines: each stage once, then its training's epochs, indented.</summary>
    public static IProgress<SelectionProgress> Selection(TextWriter output) => new SelectionLines(output);

    private sealed class SelectionLines : IProgress<SelectionProgress>
    {
        private readonly TextWriter output;
        private string? stage;

        public SelectionLines(TextWriter output) => this.output = output;

        public void Report(SelectionProgress value)
        {
            if (value.Stage != stage)
            {
                stage = value.Stage;
                output.WriteLine(FormattableString.Invariant($"[{value.Elapsed:hh\\:mm\\:ss}] {value.Stage} ({value.CandidatesDone} of {value.CandidatesPlanned} network candidates done)"));
            }

            if (value.Training is { EndOfEpoch: true } t)
            {
                output.WriteLine("    " + Describe(t));
            }
        }
    }

    private sealed class LineProgress : IProgress<TrainingProgress>
    {
        private readonly TextWriter output;

        public LineProgress(TextWriter output) => this.output = output;

        public void Report(TrainingProgress value)
        {
            if (value.EndOfEpoch)
            {
                output.WriteLine(Describe(value));
            }
        }
    }

    private sealed class LiveProgress : IProgress<TrainingProgress>
    {
        private readonly ProgressTask task;
        private readonly TextWriter output;

        public LiveProgress(ProgressTask task, TextWriter output)
        {
            this.task = task;
            this.output = output;
        }

        public void Report(TrainingProgress value)
        {
            double done = ((value.Epoch - 1) * value.StepsPerEpoch) + value.Step;
            task.Value = Math.Min(1.0, done / Math.Max(1.0, value.Epochs * (double)value.StepsPerEpoch));
            task.Description = Markup.Escape(Describe(value));
            if (value.EndOfEpoch)
            {
                AnsiConsole.MarkupLine(Markup.Escape(Describe(value)));
            }
        }
    }
}
