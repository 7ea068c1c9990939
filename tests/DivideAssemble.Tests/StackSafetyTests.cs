using FluentAssertions;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

/// <summary>The replacements for TorchSharp pieces that convert doubles to Scalars implicitly (docs/platforms.md).</summary>
public sealed class StackSafetyTests : TorchTest
{
    [Test]
    public void SafeLeakyReLU_equals_leaky_relu()
    {
        using var scope = NewDisposeScope();
        using var module = new SafeLeakyReLU(0.2);
        var x = randn(4, 5);
        var expected = where(x.gt(0), x, x * 0.2);
        TensorAssert.MaxAbsDiff(module.forward(x), expected).Should().BeLessThan(1e-7);
    }

    [Test]
    public void SafeBatchNorm2d_matches_BatchNorm2d_in_training_and_evaluation()
    {
        using var scope = NewDisposeScope();
        using var ours = new SafeBatchNorm2d(4);
        using var reference = nn.BatchNorm2d(4);
        for (int step = 0; step < 3; step++)
        {
            var x = randn(5, 4, 3, 3) * 2 + 1;
            TensorAssert.MaxAbsDiff(ours.forward(x), reference.forward(x)).Should().BeLessThan(1e-5, "training mode uses batch statistics");
        }

        ours.eval();
        reference.eval();
        var y = randn(2, 4, 3, 3);
        TensorAssert.MaxAbsDiff(ours.forward(y), reference.forward(y)).Should().BeLessThan(1e-5, "the running statistics were updated the same way");
        ours.state_dict().Keys.Should().BeEquivalentTo(new[] { "weight", "bias", "running_mean", "running_var" });
    }

    [TestCase(0.0, false)]
    [TestCase(0.01, false)]
    [TestCase(0.0, true)]
    [TestCase(0.01, true)]
    public void AdamOptimizer_matches_torch_optim_Adam(double weightDecay, bool guarded)
    {
        using var scope = NewDisposeScope();
        using var a = nn.Linear(6, 3);
        using var b = nn.Linear(6, 3);
        b.load_state_dict(a.state_dict());
        using var ours = new AdamOptimizer(a.parameters(), 1e-2, 0.9, 0.999, weightDecay);
        using var reference = optim.Adam(b.parameters(), 1e-2, 0.9, 0.999, weight_decay: weightDecay);
        var x = randn(8, 6);
        for (int step = 0; step < 5; step++)
        {
            ours.ZeroGrad();
            a.forward(x).square().sum().backward();
            if (guarded)
            {
                using var apply = ones(1, dtype: ScalarType.Bool).squeeze();
                ours.Step(apply);
            }
            else
            {
                ours.Step();
            }

            reference.zero_grad();
            b.forward(x).square().sum().backward();
            reference.step();
        }

        foreach (var (pa, pb) in a.parameters().Zip(b.parameters()))
        {
            TensorAssert.MaxAbsDiff(pa, pb).Should().BeLessThan(1e-6);
        }

        ours.Steps.Should().Be(5);
    }

    [TestCase(0.0)]
    [TestCase(0.01)]
    public void A_guarded_Adam_step_whose_flag_is_false_changes_nothing_even_with_NaN_gradients(double weightDecay)
    {
        using var scope = NewDisposeScope();
        using var a = nn.Linear(6, 3);
        using var b = nn.Linear(6, 3);
        b.load_state_dict(a.state_dict());
        using var ours = new AdamOptimizer(a.parameters(), 1e-2, 0.9, 0.999, weightDecay);
        using var reference = optim.Adam(b.parameters(), 1e-2, 0.9, 0.999, weight_decay: weightDecay);
        var x = randn(8, 6);
        using var yes = ones(1, dtype: ScalarType.Bool).squeeze();
        using var no = zeros(1, dtype: ScalarType.Bool).squeeze();
        for (int step = 0; step < 4; step++)
        {
            ours.ZeroGrad();
            a.forward(x).square().sum().backward();
            if (step == 1)
            {
                // A step the device refuses: poisoned gradients, flag false; the host takes the count back.
                foreach (var p in a.parameters())
                {
                    p.grad!.fill_(double.NaN);
                }

                var before = a.parameters().Select(p => p.detach().clone()).ToList();
                ours.Step(no);
                ours.UndoStepCount();
                foreach (var (p, q) in a.parameters().Zip(before))
                {
                    TensorAssert.MaxAbsDiff(p, q).Should().Be(0, "a refused step leaves every parameter as it was");
                }

                continue;
            }

            ours.Step(yes);
            reference.zero_grad();
            b.forward(x).square().sum().backward();
            reference.step();
        }

        foreach (var (pa, pb) in a.parameters().Zip(b.parameters()))
        {
            TensorAssert.MaxAbsDiff(pa, pb).Should().BeLessThan(1e-6, "the moments and step count were untouched by the refused step");
        }

        ours.Steps.Should().Be(3);
    }
}
