using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DivideAssemble.Torch;

/// <summary>
/// Adam (Kingma &amp; Ba), as <c>torch.optim.Adam</c> with L2 weight decay, written so that no
/// temporary <see cref="Scalar"/> is ever created implicitly from a <see cref="double"/>.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 frees an implicitly converted <see cref="Scalar"/> from its finalizer, which
/// can run on another thread while the native call that uses it is still executing; under garbage
/// collection pressure this crashed training with "toFloat: Expected false to be true" (see
/// docs/platforms.md). Every scalar here is explicit and kept alive until its call returns.
/// </remarks>
internal sealed class AdamOptimizer : IDisposable
{
    private readonly Parameter[] parameters;
    private readonly Tensor[] firstMoments;
    private readonly Tensor[] secondMoments;
    private readonly double learningRate;
    private readonly double beta1;
    private readonly double beta2;
    private readonly double epsilon;
    private readonly double weightDecay;
    private readonly Scalar beta1Scalar;
    private readonly Scalar oneMinusBeta1;
    private readonly Scalar beta2Scalar;
    private readonly Scalar oneMinusBeta2;
    private readonly Scalar epsilonScalar;
    private readonly Scalar weightDecayScalar;
    private long steps;

    public AdamOptimizer(IEnumerable<Parameter> parameters, double learningRate, double beta1, double beta2, double weightDecay, double epsilon = 1e-8)
    {
        this.parameters = parameters.ToArray();
        this.learningRate = learningRate;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
        using (no_grad())
        {
            firstMoments = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
            secondMoments = this.parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        }

        beta1Scalar = beta1.ToScalar();
        oneMinusBeta1 = (1 - beta1).ToScalar();
        beta2Scalar = beta2.ToScalar();
        oneMinusBeta2 = (1 - beta2).ToScalar();
        epsilonScalar = epsilon.ToScalar();
        weightDecayScalar = weightDecay.ToScalar();
    }

    public long Steps => steps;

    public void ZeroGrad()
    {
        foreach (var p in parameters)
        {
            p.grad?.zero_();
        }
    }

    /// <summary>
    /// Applies one Adam update. With <paramref name="apply"/> (a boolean scalar on the parameters'
    /// device) the update is computed but kept only where the flag is true, without reading it on the
    /// host: a step whose loss or gradients were not finite leaves parameters and moments unchanged.
    /// </summary>
    public void Step(Tensor? apply = null)
    {
        steps++;
        double biasCorrection1 = 1 - Math.Pow(beta1, steps);
        double biasCorrection2 = 1 - Math.Pow(beta2, steps);
        using var sqrtCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
        using var negativeStep = (-learningRate / biasCorrection1).ToScalar();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        // Guarded, the update stays in place and is made a no-op on the device when the flag is false:
        // the gradient is zeroed (so nothing non-finite reaches the moments), the moments' decay becomes
        // 1, and the step's denominator becomes infinite (so the parameter gains m/∞ = 0). Three passes
        // over each parameter more than the unguarded update, and no extra allocation.
        Tensor? skip = null, firstDecay = null, secondDecay = null, stepDivisor = null;
        if (apply is not null)
        {
            skip = apply.logical_not();
            var keep = apply.to(float32);
            firstDecay = where(apply, full_like(keep, beta1Scalar), ones_like(keep));
            secondDecay = where(apply, full_like(keep, beta2Scalar), ones_like(keep));
            stepDivisor = keep;
        }

        for (int i = 0; i < parameters.Length; i++)
        {
            var grad = parameters[i].grad;
            if (grad is null)
            {
                continue;
            }

            if (weightDecay != 0)
            {
                grad = grad.add(parameters[i], weightDecayScalar);
            }

            if (skip is not null)
            {
                grad.masked_fill_(skip, ScalarMath.Zero);
            }

            var first = firstMoments[i];
            var second = secondMoments[i];
            if (skip is null)
            {
                first.mul_(beta1Scalar);
                second.mul_(beta2Scalar);
            }
            else
            {
                first.mul_(firstDecay!);
                second.mul_(secondDecay!);
            }

            first.add_(grad, oneMinusBeta1);
            second.addcmul_(grad, grad, oneMinusBeta2);
            var denominator = second.sqrt().div_(sqrtCorrection2).add_(epsilonScalar, ScalarMath.One);
            if (stepDivisor is not null)
            {
                denominator.div_(stepDivisor);
            }

            parameters[i].addcdiv_(first, denominator, negativeStep);
        }

        GC.KeepAlive(this);
    }

    /// <summary>Takes back the step count of a step whose update the device skipped (so bias corrections stay those of applied steps).</summary>
    public void UndoStepCount() => steps--;

    /// <summary>Gets the parameters this optimiser updates.</summary>
    public IReadOnlyList<Parameter> Parameters => parameters;

    /// <summary>Writes the step count and both moment estimates.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(steps);
        writer.Write(parameters.Length);
        foreach (var t in firstMoments.Concat(secondMoments))
        {
            t.Save(writer);
        }
    }

    /// <summary>Reads what <see cref="Save"/> wrote, for the same parameters.</summary>
    /// <exception cref="InvalidDataException">The state is for a different set of parameters.</exception>
    public void Load(BinaryReader reader)
    {
        long savedSteps = reader.ReadInt64();
        int count = reader.ReadInt32();
        if (count != parameters.Length)
        {
            throw new InvalidDataException($"The optimiser state holds {count} parameters; the model has {parameters.Length}.");
        }

        foreach (var t in firstMoments.Concat(secondMoments))
        {
            t.Load(reader);
        }

        steps = savedSteps;
    }

    public void Dispose()
    {
        foreach (var t in firstMoments.Concat(secondMoments))
        {
            t.Dispose();
        }

        beta1Scalar.Dispose();
        oneMinusBeta1.Dispose();
        beta2Scalar.Dispose();
        oneMinusBeta2.Dispose();
        epsilonScalar.Dispose();
        weightDecayScalar.Dispose();
    }
}
