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
/// With restoration (<see cref="DaadOptions.EffectiveRestoration"/>) the generator reads a batch x_a with
/// synthetic anomalies and is asked for the clean x, and L_rec becomes L2 + (1 − SSIM); the discriminator still
/// sees the clean x as real. The discriminative head has a step of its own (<see cref="RunHead"/>), run in the
/// head's epochs after the generator's.
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
    private readonly DiscriminativeHead? head;
    private readonly AdamOptimizer generatorOptimizer;
    private readonly AdamOptimizer? discriminatorOptimizer;
    private readonly AdamOptimizer? headOptimizer;
    private readonly AnomalySynthesis? synthesis;
    private readonly bool restoration;

    public TrainingStep(DaadOptions options, DaadGenerator generator, DcganDiscriminator? discriminator, DiscriminativeHead? head, AdamOptimizer generatorOptimizer, AdamOptimizer? discriminatorOptimizer, AdamOptimizer? headOptimizer)
    {
        this.options = options.Training;
        this.generator = generator;
        this.discriminator = discriminator;
        this.head = head;
        this.generatorOptimizer = generatorOptimizer;
        this.discriminatorOptimizer = discriminatorOptimizer;
        this.headOptimizer = headOptimizer;
        restoration = options.EffectiveRestoration();
        synthesis = options.SynthesisesAnomalies() ? new AnomalySynthesis(options.Training) : null;
    }

    /// <summary>Gets a value indicating whether the generator's step paints synthetic anomalies (restoration, and so needs a <see cref="Random"/>).</summary>
    public bool Synthesises => restoration;

    /// <summary>
    /// Runs the step on a batch already on the models' device; <paramref name="random"/> draws the synthetic
    /// anomalies when the step paints them. Returns the losses, or which guard tripped (then nothing was updated).
    /// </summary>
    public StepOutcome Run(Tensor x, Random? random = null)
    {
        using var scope = NewDisposeScope();
        var batch = AnomalySynthesis.Prepare(restoration ? synthesis : null, restoration, x, random);
        Tensor? realLogits = null, realFeatures = null;
        if (discriminator is not null)
        {
            (realLogits, realFeatures) = discriminator.call(batch.Target);
        }

        var recon = generator.call(batch.Input);
        var rec = Losses.Generator(batch.Target, recon, restoration);

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
        generatorOptimizer.Step(apply);
        var (dLoss, dLossFinite, dGradientsFinite) = DiscriminatorPass(realLogits, recon, apply);

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
    /// One step of the head's epochs: anomalies painted on the clean batch <paramref name="x"/> (drawn from
    /// <paramref name="random"/>), the frozen generator's reconstruction of them (no gradient), and one update of the
    /// head with the focal loss on their masks, applied only when the loss and the head's gradients are finite.
    /// The outcome's total and head losses are the focal loss; its reconstruction loss is the generator's L2 on the corrupted batch.
    /// </summary>
    public StepOutcome RunHead(Tensor x, Random random)
    {
        if (head is null || headOptimizer is null || synthesis is null)
        {
            throw new InvalidOperationException("The model has no discriminative head to train.");
        }

        using var scope = NewDisposeScope();
        var (images, masks) = synthesis.Apply(x, random);
        Tensor recon;
        using (no_grad())
        {
            recon = generator.call(images);
        }

        headOptimizer.ZeroGrad();
        var loss = Losses.Focal(head.call(images, recon), masks);
        loss.backward();
        var lossFinite = loss.isfinite();
        var gradientsFinite = GradientsFinite(headOptimizer);
        headOptimizer.Step(lossFinite.logical_and(gradientsFinite));
        var values = stack(new[] { loss.detach(), Losses.Reconstruction(images, recon), lossFinite.to(float32), gradientsFinite.to(float32) })
            .to(float32).cpu().data<float>().ToArray();
        string? problem = values[2] == 0 ? $"the discriminative head's loss is {values[0]}"
            : values[3] == 0 ? "the discriminative head's gradients are not finite"
            : null;
        if (problem is not null)
        {
            headOptimizer.UndoStepCount();
        }

        return new StepOutcome(values[0], values[1], null, null, null, problem) { Head = values[0] };
    }

    /// <summary>DAAD+: the discriminator learns to tell the target from the detached reconstruction; every update applies only where all guards hold.</summary>
    private (Tensor? Loss, Tensor? LossFinite, Tensor? GradientsFinite) DiscriminatorPass(Tensor? realLogits, Tensor recon, Tensor apply)
    {
        if (discriminator is null || discriminatorOptimizer is null)
        {
            return (null, null, null);
        }

        discriminatorOptimizer.ZeroGrad();
        var (fakeLogits, _) = discriminator.call(recon.detach());
        var dLoss = Losses.Discriminator(realLogits!, fakeLogits);
        dLoss.backward();
        var dLossFinite = dLoss.isfinite();
        var dGradientsFinite = GradientsFinite(discriminatorOptimizer);
        discriminatorOptimizer.Step(apply.logical_and(dLossFinite).logical_and(dGradientsFinite));
        return (dLoss, dLossFinite, dGradientsFinite);
    }

    /// <summary>
    /// Times <paramref name="steps"/> training steps on <paramref name="batch"/> (seconds each) with fresh
    /// optimisers — with a head, a generator step and a head step each, as a run with as many head epochs as
    /// generator epochs takes; the steps change the weights, so call it on a throw-away model.
    /// </summary>
    public static double[] Time(DaadOptions options, DaadGenerator generator, DcganDiscriminator? discriminator, DiscriminativeHead? head, Tensor batch, int steps, CancellationToken cancellationToken)
    {
        using var optG = Optimizers.ForGenerator(options.Training, generator);
        using var optD = Optimizers.ForDiscriminator(options.Training, discriminator);
        using var optH = Optimizers.ForHead(options.Training, head);
        var step = new TrainingStep(options, generator, discriminator, head, optG, optD, optH);
        var random = new Random(options.Seed);
        generator.train();
        discriminator?.train();
        head?.train();
        var times = new double[steps];
        try
        {
            for (int i = 0; i < steps; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                using var scope = NewDisposeScope();
                step.Run(batch, random);
                if (head is not null)
                {
                    step.RunHead(batch, random);
                }

                times[i] = clock.Elapsed.TotalSeconds;
            }
        }
        finally
        {
            generator.eval();
            discriminator?.eval();
            head?.eval();
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
internal readonly record struct StepOutcome(double Total, double Reconstruction, double? Adversarial, double? Alignment, double? Discriminator, string? Problem)
{
    /// <summary>Gets the discriminative head's focal loss (<see langword="null"/> without a head).</summary>
    public double? Head { get; init; }
}
