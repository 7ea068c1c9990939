using DivideAssemble.Data;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>The trainer: one step, callbacks for everything else, and what they promise.</summary>
public sealed class TrainerTests : TempFolderTest
{
    [Test]
    public void Early_stopping_ends_the_run_after_patience_epochs_without_improvement()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Builder(ModelVariant.Daad, epochs: 20).Configure(o => o.Training.EarlyStoppingPatience = 2).Build();
        var scripted = new ScriptedValidation(1.0, 0.8, 0.9, 0.85, 0.7, 0.6);
        var run = NewRun(detector, new TensorImageSource(Synthetic.Textures(16, 32, 1, false)));
        var summary = new DaadTrainer(run, new ITrainingCallback[] { scripted, new BestEpochCallback(), new EarlyStoppingCallback(), new CalibrationCallback(new AnomalyScorer(detector.Generator, null, null, detector.Options)) })
            .Run(CancellationToken.None);

        summary.EpochsCompleted.Should().Be(4, "epoch 2 was the best; epochs 3 and 4 did not improve on it");
        summary.StoppedEarly.Should().BeTrue();
        run.State.BestEpoch.Should().Be(2);
        summary.History.Select(h => h.ValidationLoss).Should().Equal(1.0, 0.8, 0.9, 0.85);
    }

    [Test]
    public void Without_patience_the_run_goes_the_full_length()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Builder(ModelVariant.Daad, epochs: 5).Build();
        var run = NewRun(detector, new TensorImageSource(Synthetic.Textures(16, 32, 1, false)));
        var summary = new DaadTrainer(run, new ITrainingCallback[] { new ScriptedValidation(1, 2, 3, 4, 5), new BestEpochCallback(), new EarlyStoppingCallback(), new CalibrationCallback(new AnomalyScorer(detector.Generator, null, null, detector.Options)) })
            .Run(CancellationToken.None);
        summary.EpochsCompleted.Should().Be(5);
        summary.StoppedEarly.Should().BeFalse();
    }

    [Category("Slow")]
    [Test]
    public void A_resumed_run_keeps_the_best_epoch_of_the_epochs_before_the_interruption()
    {
        using var scope = NewDisposeScope();
        var source = new TensorImageSource(Synthetic.Textures(40, 32, 1, false));
        var probe = Synthetic.Textures(6, 32, 9, true);
        var builder = DetectorTests.Builder(ModelVariant.DaadPlus, epochs: 6).Configure(o =>
        {
            o.Training.KeepBest = true;
            o.Training.CheckpointEvery = 1;
            o.Training.LearningRate = 0.2; // large enough that the validation loss stops improving before the last epoch
        });

        using var full = builder.Build();
        var uninterrupted = full.Fit(source);
        uninterrupted.BestEpoch.Should().BeLessThanOrEqualTo(4, "the test needs a best epoch no later than the interruption").And.BeLessThan(6, "and one that is not the last");
        var expected = full.Score(probe).Select(r => r.Score).ToList();

        string checkpoint = Path.Combine(dir, "run.ckpt");
        using (var first = builder.Build())
        {
            using var cts = new CancellationTokenSource();
            var progress = new SynchronousProgress<TrainingProgress>(p =>
            {
                if (p.EndOfEpoch && p.Epoch == 4)
                {
                    cts.Cancel();
                }
            });
            FluentActions.Invoking(() => first.FitWithCheckpoints(source, checkpoint, progress, cts.Token)).Should().Throw<OperationCanceledException>();
        }

        var (resumed, summary) = AnomalyDetector.Resume(checkpoint, source);
        using (resumed)
        {
            summary.BestEpoch.Should().Be(uninterrupted.BestEpoch);
            summary.History.Select(h => h.ValidationLoss).Should().Equal(uninterrupted.History.Select(h => h.ValidationLoss));
            resumed.Score(probe).Select(r => r.Score).Should().Equal(expected, "the best epoch's weights came back from the checkpoint, bit for bit");
        }
    }

    [Test]
    public void A_daad_plus_step_runs_the_discriminator_three_times_and_hooks_fire()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Builder(ModelVariant.DaadPlus, epochs: 1).Configure(o => o.Training.ValidationFraction = 0).Build();
        int discriminatorCalls = 0, generatorCalls = 0;
        var d = detector.Discriminator!.register_forward_pre_hook(_ => discriminatorCalls++);
        var g = detector.Generator.register_forward_pre_hook(_ => generatorCalls++);
        int steps = 0;
        detector.Fit(new TensorImageSource(Synthetic.Textures(24, 32, 1, false)), new SynchronousProgress<TrainingProgress>(p =>
        {
            if (!p.EndOfEpoch)
            {
                steps++;
                discriminatorCalls.Should().Be(3 * steps, $"step {steps}: D(x), D(x̂) for the generator and D(x̂.detach()) for the discriminator");
                generatorCalls.Should().Be(steps);
            }
        }));
        d.remove();
        g.remove();
        steps.Should().Be(3);
    }

    [Test]
    public void A_non_finite_gradient_skips_the_update_on_the_device_and_stops_with_the_step_named()
    {
        using var scope = NewDisposeScope();
        using var detector = DetectorTests.Builder(ModelVariant.Daad, epochs: 1).Configure(o => o.Training.ValidationFraction = 0).Build();
        var before = detector.Generator.parameters().Select(p => p.detach().clone()).ToList();

        // A hook that leaves the forward pass exact but makes every gradient infinite (d√t/dt at t = 0),
        // as oneDNN's padding bug poisons input gradients while outputs stay right.
        var hook = detector.Generator.register_forward_hook((_, _, output) => output + (output - output.detach()).sqrt());
        var act = () => detector.Fit(new TensorImageSource(Synthetic.Textures(16, 32, 1, false)));
        act.Should().Throw<TrainingDivergedException>().WithMessage("*epoch 1, step 1*gradients are not finite*").Which.Step.Should().Be(1);
        hook.remove();
        detector.Generator.parameters().Zip(before).Should().OnlyContain(p => p.First.eq(p.Second).all().item<bool>(), "the update of the poisoned step was skipped");
    }

    private static TrainingRun NewRun(AnomalyDetector detector, IImageSource source)
    {
        var options = detector.Options;
        var (train, validation) = DaadTrainer.Split(source.Count, options.Training.ValidationFraction, options.Seed);
        return new TrainingRun
        {
            Options = options,
            Networks = new DivideAssemble.Modules.ModelNetworks(detector.Generator, null, null),
            Optimizers = new AdamOptimizers(new AdamOptimizer(detector.Generator.parameters(), options.Training.LearningRate, 0.9, 0.999, 0), null, null),
            Device = CPU,
            Reader = new BatchReader(source, options.Network.ResolvedChannels, options.Network.ImageSize),
            TrainIndices = train,
            ValidationIndices = validation,
            State = new CheckpointState(),
            Logger = NullLogger.Instance,
        };
    }

    /// <summary>Stands in for the validation-loss callback with a fixed sequence of losses.</summary>
    private sealed class ScriptedValidation : ITrainingCallback
    {
        private readonly double[] losses;

        public ScriptedValidation(params double[] losses) => this.losses = losses;

        public void OnEpochEnd(TrainingRun run) => run.UpdateLastEpoch(run.LastEpoch with { ValidationLoss = losses[run.Epoch - 1] });
    }
}
