using DivideAssemble.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Training;

/// <summary>
/// One optimisation step of DAAD or DAAD+. The generator minimises λ_rec·L_rec (+ λ_adv·L_adv +
/// λ_ali·L_ali for DAAD+); then the discriminator learns to tell x from x̂ = G(x), on the detached
/// reconstruction. DAAD+ runs three discriminator passes per step: D(x) once (its logits for the
/// discriminator loss, its features — detached — for the alignment loss), D(x̂) for the generator, and
/// D(x̂.detach()) for the discriminator.
/// </summary>
/// <remarks>
/// The step never waits for the device until its very end: whether the losses and gradients are
/// finite is one boolean on the device, the optimisers apply their update only where it holds (the
/// guard against libtorch 2.10's oneDNN NaN input gradients, docs/platforms.md), and the losses and
/// flags are read back to the host in a single copy.
/// </remarks>
internal sealed class TrainingStep
{
    private readonly TrainingOptions options;
    private readonly DaadGenerator generator;
    private readonly DcganDiscriminator? discriminator;
    private readonly AdamOptimizer generatorOptimizer;
    private readonly AdamOptimizer? discriminatorOptimizer;

    public TrainingStep(TrainingOptions options, DaadGenerator generator, DcganDiscriminator? discriminator, AdamOptimizer generatorOptimizer, AdamOptimizer? discriminatorOptimizer)
    {
        this.options = options;
        this.generator = generator;
        this.discriminator = discriminator;
        this.generatorOptimizer = generatorOptimizer;
        this.discriminatorOptimizer = discriminatorOptimizer;
    }

    /// <summary>Runs the step on a batch already on the models' device; returns the losses, or which guard tripped (then nothing was updated).</summary>
    public StepOutcome Run(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor? realLogits = null, realFeatures = null;
        if (discriminator is not null)
        {
            (realLogits, realFeatures) = discriminator.call(x);
        }

        var recon = generator.call(x);
        var rec = Losses.Reconstruction(x, recon);
        var loss = ScalarMath.Mul(rec, options.ReconstructionWeight);
        Tensor? adv = null, ali = null;
        if (discriminator is not null)
        {
            var (fakeLogits, fakeFeatures) = discriminator.call(recon);
            adv = Losses.GeneratorAdversarial(fakeLogits);
            ali = Losses.Alignment(realFeatures!.detach(), fakeFeatures, options.NormalizeFeatures);
            loss = ScalarMath.Sum(ScalarMath.Sum(loss, ScalarMath.Mul(adv, options.AdversarialWeight)), ScalarMath.Mul(ali, options.AlignmentWeight));
        }

        generatorOptimizer.ZeroGrad();
        loss.backward();
        var generatorLossFinite = loss.isfinite();
        var generatorGradientsFinite = GradientsFinite(generatorOptimizer);
        var apply = generatorLossFinite.logical_and(generatorGradientsFinite);

        Tensor? dLoss = null, dLossFinite = null, dGradientsFinite = null;
        if (discriminator is not null && discriminatorOptimizer is not null)
        {
            discriminatorOptimizer.ZeroGrad();
            var (fakeLogits, _) = discriminator.call(recon.detach());
            dLoss = Losses.Discriminator(realLogits!, fakeLogits);
            dLoss.backward();
            dLossFinite = dLoss.isfinite();
            dGradientsFinite = GradientsFinite(discriminatorOptimizer);
            var applyDiscriminator = apply.logical_and(dLossFinite).logical_and(dGradientsFinite);
            generatorOptimizer.Step(apply);
            discriminatorOptimizer.Step(applyDiscriminator);
        }
        else
        {
            generatorOptimizer.Step(apply);
        }

        // The step's only read-back: losses and guard flags in one copy.
        var none = zeros(1, device: x.device).squeeze();
        var values = stack(new[]
        {
            loss.detach(), rec.detach(), adv?.detach() ?? none, ali?.detach() ?? none, dLoss?.detach() ?? none,
            generatorLossFinite.to(float32), generatorGradientsFinite.to(float32),
            dLossFinite?.to(float32) ?? ones_like(none), dGradientsFinite?.to(float32) ?? ones_like(none),
        }).to(float32).cpu().data<float>().ToArray();

        string? problem = values[5] == 0 ? $"the generator loss is {values[0]}"
            : values[6] == 0 ? "the generator's gradients are not finite"
            : values[7] == 0 ? $"the discriminator loss is {values[4]}"
            : values[8] == 0 ? "the discriminator's gradients are not finite"
            : null;
        if (problem is not null)
        {
            generatorOptimizer.UndoStepCount();
            discriminatorOptimizer?.UndoStepCount();
        }

        bool plus = discriminator is not null;
        return new StepOutcome(values[0], values[1], plus ? values[2] : null, plus ? values[3] : null, plus ? values[4] : null, problem);
    }

    /// <summary>
    /// Times <paramref name="steps"/> training steps on <paramref name="batch"/> (seconds each) with fresh
    /// optimisers; the steps change the weights, so call it on a throw-away model.
    /// </summary>
    public static double[] Time(TrainingOptions training, DaadGenerator generator, DcganDiscriminator? discriminator, Tensor batch, int steps, CancellationToken cancellationToken)
    {
        using var optG = Optimizers.ForGenerator(training, generator);
        using var optD = Optimizers.ForDiscriminator(training, discriminator);
        var step = new TrainingStep(training, generator, discriminator, optG, optD);
        generator.train();
        discriminator?.train();
        var times = new double[steps];
        try
        {
            for (int i = 0; i < steps; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                using var scope = NewDisposeScope();
                step.Run(batch);
                times[i] = clock.Elapsed.TotalSeconds;
            }
        }
        finally
        {
            generator.eval();
            discriminator?.eval();
        }

        return times;
    }

    /// <summary>A device-side flag: every gradient of the optimiser's parameters is finite (a NaN or infinity anywhere makes the sum of sums non-finite).</summary>
    private static Tensor GradientsFinite(AdamOptimizer optimizer)
    {
        var sums = optimizer.Parameters.Where(p => p.grad is not null).Select(p => p.grad!.sum()).ToArray();
        return sums.Length == 0 ? ones(1, dtype: ScalarType.Bool).squeeze() : stack(sums).sum().isfinite();
    }
}

/// <summary>The losses of one step, or the guard that tripped (then the step changed no weight).</summary>
internal readonly record struct StepOutcome(double Total, double Reconstruction, double? Adversarial, double? Alignment, double? Discriminator, string? Problem);
