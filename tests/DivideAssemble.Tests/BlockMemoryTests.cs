using FluentAssertions;
using NUnit.Framework;
using static TorchSharp.torch;

namespace DivideAssemble.Tests;

public sealed class BlockMemoryTests : TorchTest
{
    private static readonly float[,] Queries = { { 1f, 2f, -1f }, { -0.5f, 0.25f, 3f } };
    private static readonly float[,] Items = { { 0.3f, -1f, 2f }, { 1f, 1f, 1f }, { -2f, 0.5f, 0.1f } };

    [TestCase(1.0, 0.0)]
    [TestCase(0.1, 0.0)]
    [TestCase(0.5, 0.2)]
    public void Address_and_read_equal_equations_1_and_2_computed_by_hand(double temperature, double shrink)
    {
        using var scope = NewDisposeScope();
        using var memory = MakeMemory(temperature, shrink);
        var q = tensor(Queries).reshape(1, 2, 3);

        var weights = memory.Address(q);
        var read = memory.forward(q);

        var (expectedW, expectedRead) = ByHand(temperature, shrink);
        weights.shape.Should().Equal(1, 2, 3);
        read.shape.Should().Equal(1, 2, 3);
        for (int i = 0; i < 2; i++)
        {
            for (int n = 0; n < 3; n++)
            {
                weights[0, i, n].item<float>().Should().BeApproximately((float)expectedW[i, n], 1e-6f);
                read[0, i, n].item<float>().Should().BeApproximately((float)expectedRead[i, n], 1e-6f);
            }
        }
    }

    [Test]
    public void Both_ways_of_computing_the_cosine_give_the_same_weights()
    {
        using var scope = NewDisposeScope();
        using var memory = new BlockMemory(40, 24, temperature: 0.3);
        var q = randn(3, 5, 24);
        memory.NormaliseCopies = false;
        var divided = memory.Address(q);
        memory.NormaliseCopies = true;
        var copies = memory.Address(q);
        TensorAssert.MaxAbsDiff(divided, copies).Should().BeLessThan(1e-6);
    }

    [TestCase(40, 64, 1.0)]
    [TestCase(40, 64, 0.1)]
    [TestCase(50, 16, 0.1)]
    [TestCase(50, 16, 0.5)]
    public void The_hand_written_backward_equals_float64_autograd_of_equations_1_and_2(int items, int dimension, double temperature)
    {
        using var scope = NewDisposeScope();
        using var memory = new BlockMemory(items, dimension, temperature);
        var queries = randn(3, 7, dimension);
        queries[0, 0] = zeros(dimension); // a zero query: its norm is clamped, and it must get a finite gradient
        var upstream = randn(3, 7, dimension);

        var q = queries.clone().requires_grad_(true);
        var read = memory.forward(q);
        read.backward(new[] { upstream });

        // Reference: eq. 1–2 written out with float64 autograd.
        var q64 = queries.to(float64).requires_grad_(true);
        var m64 = memory.Items.detach().to(float64).requires_grad_(true);
        var flat = q64.reshape(-1, dimension);
        var cos = flat.mm(m64.t()) / (flat.norm(1, keepdim: true, p: 2).clamp_min(1e-12) * m64.norm(1, keepdim: true, p: 2).clamp_min(1e-12).t());
        var reference = (cos / temperature).softmax(-1).mm(m64).reshape(q64.shape);
        reference.backward(new[] { upstream.to(float64) });

        TensorAssert.MaxAbsDiff(read.to(float64), reference).Should().BeLessThan(1e-5);
        MaxRelative(q.grad!, q64.grad!).Should().BeLessThan(1e-4, "query gradient");
        MaxRelative(memory.Items.grad!, m64.grad!).Should().BeLessThan(1e-4, "item gradient");
        q.grad!.isfinite().all().item<bool>().Should().BeTrue();
    }

    [Test]
    public void The_hand_written_backward_and_autograd_give_the_same_gradients_in_both_formulations()
    {
        foreach (bool copies in new[] { false, true })
        {
            using var scope = NewDisposeScope();
            using var memory = new BlockMemory(30, 24, temperature: 0.2) { NormaliseCopies = copies };
            var queries = randn(5, 24);
            var grads = new List<(Tensor Q, Tensor M)>();
            foreach (bool fused in new[] { true, false })
            {
                memory.FusedBackward = fused;
                memory.Items.grad?.zero_();
                var q = queries.clone().requires_grad_(true);
                (memory.forward(q) * queries).sum().backward();
                grads.Add((q.grad!.clone(), memory.Items.grad!.clone()));
            }

            MaxRelative(grads[0].Q, grads[1].Q).Should().BeLessThan(1e-4, $"queries, copies {copies}");
            MaxRelative(grads[0].M, grads[1].M).Should().BeLessThan(1e-4, $"items, copies {copies}");
        }
    }

    [Test]
    public void Weights_are_non_negative_and_sum_to_one()
    {
        using var scope = NewDisposeScope();
        using var memory = new BlockMemory(50, 16, temperature: 0.05, shrinkThreshold: 0.02);
        var w = memory.Address(randn(4, 7, 16));
        w.shape.Should().Equal(4, 7, 50);
        w.min().item<float>().Should().BeGreaterThanOrEqualTo(0f);
        MaxAbs(w.sum(-1) - 1).Should().BeLessThan(1e-5);
    }

    [Test]
    public void Lower_temperature_sharpens_addressing_and_entropy_reports_it()
    {
        using var scope = NewDisposeScope();
        using var warm = new BlockMemory(100, 32, temperature: 1.0);
        var q = randn(64, 32);
        double hot = BlockMemory.AddressingEntropy(warm.Address(q));
        hot.Should().BeGreaterThan(0.99 * Math.Log(100), "at T = 1 cosine softmax over 100 items is nearly uniform");
        using var cold = new BlockMemory(100, 32, temperature: 0.02);
        cold.Items.detach().copy_(warm.Items.detach());
        double sharp = BlockMemory.AddressingEntropy(cold.Address(q));
        sharp.Should().BeLessThan(hot - 0.5);
    }

    [Test]
    public void Shrinkage_zeroes_weights_below_the_threshold()
    {
        using var scope = NewDisposeScope();
        using var memory = new BlockMemory(20, 8, temperature: 0.05, shrinkThreshold: 0.1);
        var w = memory.Address(randn(30, 8));
        var small = w.gt(0) & w.lt(0.1 * 0.5);
        small.any().item<bool>().Should().BeFalse("weights left after shrinkage were above the threshold before re-normalisation, so none is tiny");
        w.eq(0).any().item<bool>().Should().BeTrue();
    }

    [Test]
    public void Distance_is_one_minus_the_largest_cosine_computed_by_hand()
    {
        using var scope = NewDisposeScope();
        using var memory = MakeMemory(0.1, 0);
        var distance = memory.Distance(tensor(Queries).reshape(1, 2, 3));

        distance.shape.Should().Equal(1, 2);
        for (int i = 0; i < 2; i++)
        {
            double qn = Math.Sqrt(Enumerable.Range(0, 3).Sum(d => Queries[i, d] * (double)Queries[i, d]));
            double best = Enumerable.Range(0, 3).Max(n =>
                Enumerable.Range(0, 3).Sum(d => Queries[i, d] * (double)Items[n, d]) / (qn * Math.Sqrt(Enumerable.Range(0, 3).Sum(d => Items[n, d] * (double)Items[n, d]))));
            distance[0, i].item<float>().Should().BeApproximately((float)(1 - best), 1e-6f);
        }
    }

    [Test]
    public void Items_initialised_from_queries_start_at_those_queries()
    {
        using var scope = NewDisposeScope();
        using var memory = new BlockMemory(5, 64, temperature: 0.1);
        var queries = randn(3, 64) * 3;
        memory.InitialiseFrom(queries);

        // Item i is query i mod 3 plus its uniform start (±1/8 per element here): the nearest query by far, and distance ~0.
        var distances = memory.Distance(queries);
        distances.max().item<float>().Should().BeLessThan(0.01f);
        MaxAbs(memory.Items.detach()[3] - queries[0]).Should().BeLessThanOrEqualTo(1.0 / 8 + 1e-6, "repeats differ only by their uniform start");
        MaxAbs(memory.Items.detach()[3] - memory.Items.detach()[0]).Should().BeGreaterThan(0, "the uniform start breaks the tie between repeats");
        FluentActions.Invoking(() => memory.InitialiseFrom(zeros(2, 8))).Should().Throw<ArgumentException>().WithMessage("*[M ≥ 1, 64]*");
    }

    [Test]
    public void Gradients_reach_items_and_queries()
    {
        using var scope = NewDisposeScope();
        using var memory = new BlockMemory(10, 6);
        var q = randn(2, 3, 6).requires_grad_(true);
        memory.forward(q).square().sum().backward();
        memory.Items.grad.Should().NotBeNull();
        memory.Items.grad!.abs().sum().item<float>().Should().BeGreaterThan(0f);
        q.grad!.abs().sum().item<float>().Should().BeGreaterThan(0f);
    }

    [Test]
    public void Bad_arguments_are_rejected_with_their_name()
    {
        FluentActions.Invoking(() => new BlockMemory(0, 4)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("items");
        FluentActions.Invoking(() => new BlockMemory(4, 0)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("itemDimension");
        FluentActions.Invoking(() => new BlockMemory(4, 4, temperature: 0)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("temperature");
        FluentActions.Invoking(() => new BlockMemory(4, 4, shrinkThreshold: 1)).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("shrinkThreshold");
        using var scope = NewDisposeScope();
        using var memory = new BlockMemory(4, 5);
        FluentActions.Invoking(() => memory.forward(zeros(2, 4))).Should().Throw<ArgumentException>().WithMessage("*item dimension 5*");
    }

    private static double MaxAbs(Tensor t) => t.abs().max().to(float64).item<double>();

    /// <summary>The largest difference relative to the reference's largest magnitude.</summary>
    private static double MaxRelative(Tensor actual, Tensor reference) =>
        (actual.to(float64) - reference.to(float64)).abs().max().item<double>() / Math.Max(reference.abs().max().to(float64).item<double>(), 1e-30);

    private static BlockMemory MakeMemory(double temperature, double shrink)
    {
        var memory = new BlockMemory(3, 3, temperature, shrink);
        using (no_grad())
        {
            memory.Items.copy_(tensor(Items));
        }

        return memory;
    }

    // Eq. 1–2 with plain loops in double precision.
    private static (double[,] W, double[,] Read) ByHand(double temperature, double shrink)
    {
        var w = new double[2, 3];
        var read = new double[2, 3];
        for (int i = 0; i < 2; i++)
        {
            double qn = Math.Sqrt(Enumerable.Range(0, 3).Sum(d => Queries[i, d] * (double)Queries[i, d]));
            var logits = new double[3];
            for (int n = 0; n < 3; n++)
            {
                double mn = Math.Sqrt(Enumerable.Range(0, 3).Sum(d => Items[n, d] * (double)Items[n, d]));
                double dot = Enumerable.Range(0, 3).Sum(d => Queries[i, d] * (double)Items[n, d]);
                logits[n] = dot / (qn * mn) / temperature;
            }

            double max = logits.Max();
            double z = logits.Sum(l => Math.Exp(l - max));
            for (int n = 0; n < 3; n++)
            {
                w[i, n] = Math.Exp(logits[n] - max) / z;
            }

            if (shrink > 0)
            {
                double sum = 0;
                for (int n = 0; n < 3; n++)
                {
                    double s = w[i, n] - shrink;
                    w[i, n] = Math.Max(s, 0) * w[i, n] / (Math.Abs(s) + 1e-12);
                    sum += w[i, n];
                }

                for (int n = 0; n < 3; n++)
                {
                    w[i, n] /= sum;
                }
            }

            for (int d = 0; d < 3; d++)
            {
                read[i, d] = Enumerable.Range(0, 3).Sum(n => w[i, n] * Items[n, d]);
            }
        }

        return (w, read);
    }
}
